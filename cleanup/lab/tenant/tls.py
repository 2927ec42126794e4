"""A throwaway certificate authority for loopback HTTPS servers in tests and the lab.

MSAL insists on ``https`` authorities, so local emulators need real TLS. ``make_test_ca`` writes a CA and a
server certificate for 127.0.0.1/localhost (valid one day) and hands back a server-side ``ssl.SSLContext``.
Clients trust the CA by passing ``ca.pem`` as their CA bundle.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TestCA:
    """Paths of the generated files; ``ca_pem`` is the bundle a client should trust."""

    __test__ = False  # not a pytest test class

    directory: Path
    ca_pem: Path
    server_pem: Path
    server_key: Path
    hostnames: tuple[str, ...]

    def server_context(self) -> ssl.SSLContext:
        """A fresh TLS server context presenting the server certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile=str(self.server_pem), keyfile=str(self.server_key))
        return ctx


def _san_entries(hostnames) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # O_CREAT's mode is ignored for an existing file


_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _key_usage(*on: str):
    return x509.KeyUsage(**{name: name in on for name in _KEY_USAGES})


def make_test_ca(directory: Path, hostnames=("127.0.0.1", "localhost")) -> TestCA:
    """Create a one-day CA and a server certificate for ``hostnames`` in ``directory``.

    Writes ``ca.pem``, ``server.pem`` (leaf then CA) and ``server.key`` (mode 0600).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hostnames = tuple(hostnames)
    now = _dt.datetime.now(_dt.UTC)
    not_before = now - _dt.timedelta(minutes=5)
    not_after = now + _dt.timedelta(days=1)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cleanup lab test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage("digital_signature", "key_cert_sign", "crl_sign"), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0] if hostnames else "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_san_entries(hostnames)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_key_usage("digital_signature", "key_agreement"), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ca_pem = directory / "ca.pem"
    server_pem = directory / "server.pem"
    key_path = directory / "server.key"
    _write(ca_pem, ca_cert.public_bytes(pem), 0o644)
    _write(server_pem, server_cert.public_bytes(pem) + ca_cert.public_bytes(pem), 0o644)
    _write(
        key_path,
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        0o600,
    )
    return TestCA(directory=directory, ca_pem=ca_pem, server_pem=server_pem, server_key=key_path, hostnames=hostnames)
