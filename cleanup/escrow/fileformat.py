"""The escrow file: secrets saved on a machine without a keyring, encrypted to a public key so that the machine
that writes the file cannot read it back (docs/escrow.md has the format).

A hybrid scheme of standard parts: a fresh 256-bit content key encrypts the values with AES-256-GCM (12-byte
random nonce; the file's cleartext header is the associated data, so it cannot be swapped onto other values). The
content key reaches the recipient either through X25519 (an ephemeral key pair; the key is HKDF-SHA256 of the shared
secret) or, for an RSA recipient, wrapped with RSA-OAEP (SHA-256). The private key never touches the writer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cleanup.errors import ConfigError, UsageError

FORMAT = "cleanup-escrow-file/1"
X25519_ALG = "X25519-HKDF-SHA256-A256GCM"
RSA_ALG = "RSA-OAEP-SHA256-A256GCM"
MIN_RSA_BITS = 2048
KEY_FILE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Recipient:
    """The public key escrow files are encrypted to."""

    key: Any  # an X25519PublicKey or RSAPublicKey
    alg: str
    sha256: str  # of the DER SubjectPublicKeyInfo, hex: names the key without showing it
    path: str

    def describe(self) -> str:
        return f"{self.path} ({self.alg.split('-')[0]}, SHA-256 {self.sha256[:16]}…)"


def _spki_sha256(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _alg_of(public_key: Any, where: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa, x25519

    if isinstance(public_key, x25519.X25519PublicKey):
        return X25519_ALG
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"{where}: an RSA key of {public_key.key_size} bits is too small (at least {MIN_RSA_BITS})")
        return RSA_ALG
    raise ConfigError(f"{where}: not an X25519 or RSA public key")


def load_recipient(path: str) -> Recipient:
    """The recipient public key from a PEM file (a public key, or an X.509 certificate); ConfigError otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from cleanup.readlimit import read_bytes

    where = f"escrow recipient {path}"
    try:
        data = read_bytes(path, KEY_FILE_LIMIT, "escrow recipient key", ConfigError)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        raise ConfigError(f"{where} holds a private key: give the public key only (the machine that saves must not be able to read back)")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            public_key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            public_key = serialization.load_pem_public_key(data)
    except ValueError:
        raise ConfigError(f"{where} is not a PEM public key (-----BEGIN PUBLIC KEY----- ...)") from None
    return Recipient(public_key, _alg_of(public_key, where), _spki_sha256(public_key), path)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, where: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise UsageError(f"{where}: {what} is not base64; the file is damaged") from None


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _hkdf(shared: bytes, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=FORMAT.encode()).derive(shared)


def _oaep() -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _raw(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def seal(recipient: Recipient, header: dict[str, Any], values: list[dict[str, Any]]) -> dict[str, Any]:
    """The file's document: ``header`` in clear (with the recipient named), ``values`` encrypted to the recipient."""
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = {**header, "recipient": {"alg": recipient.alg, "sha256": recipient.sha256}}
    doc: dict[str, Any] = {"format": FORMAT, "header": header}
    if recipient.alg == X25519_ALG:
        ephemeral = x25519.X25519PrivateKey.generate()
        eph_raw = _raw(ephemeral.public_key())
        key = _hkdf(ephemeral.exchange(recipient.key), eph_raw + _raw(recipient.key))
        doc["ephemeral"] = _b64(eph_raw)
    else:
        key = AESGCM.generate_key(bit_length=256)
        doc["wrapped_key"] = _b64(recipient.key.encrypt(key, _oaep()))
    nonce = os.urandom(12)
    plaintext = json.dumps({"values": values}, sort_keys=True).encode()
    doc["nonce"] = _b64(nonce)
    doc["ciphertext"] = _b64(AESGCM(key).encrypt(nonce, plaintext, _aad(header)))
    return doc


def header_of(doc: object, where: str) -> dict[str, Any]:
    """The cleartext header of an escrow file's document, checked; UsageError naming ``where`` otherwise."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("header"), dict):
        raise UsageError(f"{where} is not a cleanup escrow file ({FORMAT})")
    header: dict[str, Any] = doc["header"]
    recipient = header.get("recipient")
    if not isinstance(recipient, dict) or recipient.get("alg") not in (X25519_ALG, RSA_ALG) or not isinstance(recipient.get("sha256"), str):
        raise UsageError(f"{where}: its recipient is not named; the file is damaged")
    return header


def load_private_key(path: str, passphrase: Callable[[], str | None]) -> Any:
    """The operator's private key (PEM); ``passphrase()`` is asked only when the key is encrypted."""
    from cryptography.hazmat.primitives import serialization

    from cleanup.readlimit import read_bytes

    try:
        data = read_bytes(path, KEY_FILE_LIMIT, "private key", UsageError)
    except OSError as exc:
        raise UsageError(f"private key {path}: cannot read it: {exc.strerror}") from None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        secret = passphrase()
        if not secret:
            raise UsageError(f"private key {path} is encrypted: run at a terminal to give its passphrase") from None
        try:
            return serialization.load_pem_private_key(data, password=secret.encode())
        except (TypeError, ValueError):
            raise UsageError(f"private key {path}: wrong passphrase, or not a PEM private key") from None
    except ValueError:
        raise UsageError(f"{path} is not a PEM private key (-----BEGIN PRIVATE KEY----- ...)") from None


def open_sealed(doc: dict[str, Any], private_key: Any, where: str) -> list[dict[str, Any]]:
    """The values of an escrow file, decrypted with the recipient's private key."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric import rsa, x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = header_of(doc, where)
    wanted = header["recipient"]["sha256"]
    if _spki_sha256(private_key.public_key()) != wanted:
        raise UsageError(f"{where} was encrypted to another key (recipient SHA-256 {wanted[:16]}…), not to the one given with --key")
    try:
        if header["recipient"]["alg"] == X25519_ALG and isinstance(private_key, x25519.X25519PrivateKey):
            eph_raw = _unb64(doc.get("ephemeral"), "its ephemeral key", where)
            ephemeral = x25519.X25519PublicKey.from_public_bytes(eph_raw)
            key = _hkdf(private_key.exchange(ephemeral), eph_raw + _raw(private_key.public_key()))
        elif header["recipient"]["alg"] == RSA_ALG and isinstance(private_key, rsa.RSAPrivateKey):
            key = private_key.decrypt(_unb64(doc.get("wrapped_key"), "its wrapped key", where), _oaep())
        else:
            raise UsageError(f"{where}: the key given with --key is not of the file's kind ({header['recipient']['alg']})")
        plaintext = AESGCM(key).decrypt(_unb64(doc.get("nonce"), "its nonce", where), _unb64(doc.get("ciphertext"), "its ciphertext", where), _aad(header))
    except (InvalidTag, ValueError):
        raise UsageError(f"{where} does not decrypt: it was changed or damaged") from None
    try:
        values = json.loads(plaintext)["values"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{where}: its content is not ours") from None
    if not isinstance(values, list) or not all(isinstance(v, dict) and isinstance(v.get("value"), str) for v in values):
        raise UsageError(f"{where}: its content is not ours")
    return values
