"""The escrow file: the machine that writes it cannot read it back; only the recipient's private key opens it, and
nothing in it can be swapped or changed unnoticed."""

from __future__ import annotations

import json

import pytest

from cleanup.errors import ConfigError, UsageError
from cleanup.escrow import fileformat
from tests.support.escrowkit import key_pair

HEADER = {"serial": "C02ZK1ABMD6M", "kind": "filevault", "record": "5", "run": "R1", "saved_at": 1.0, "accounts": []}
VALUE = [{"account": None, "value": "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"}]


@pytest.mark.parametrize("kind", ["x25519", "rsa"])
def test_a_file_sealed_to_the_recipient_opens_with_its_private_key_only(tmp_path, kind):
    private, public = key_pair(tmp_path / "a", kind)
    other, _ = key_pair(tmp_path / "b", kind)
    doc = fileformat.seal(fileformat.load_recipient(str(public)), HEADER, VALUE)
    text = json.dumps(doc)
    assert "ABCD-EFGH" not in text and doc["header"]["serial"] == "C02ZK1ABMD6M"
    key = fileformat.load_private_key(str(private), lambda: None)
    assert fileformat.open_sealed(json.loads(text), key, "f") == VALUE
    with pytest.raises(UsageError, match="another key"):
        fileformat.open_sealed(doc, fileformat.load_private_key(str(other), lambda: None), "f")


def test_a_changed_header_or_ciphertext_does_not_decrypt(tmp_path):
    private, public = key_pair(tmp_path)
    key = fileformat.load_private_key(str(private), lambda: None)
    doc = fileformat.seal(fileformat.load_recipient(str(public)), HEADER, VALUE)
    moved = json.loads(json.dumps(doc))
    moved["header"]["serial"] = "C02YX2BCJG5H"  # the values put under another Mac's name
    with pytest.raises(UsageError, match="changed or damaged"):
        fileformat.open_sealed(moved, key, "f")
    flipped = json.loads(json.dumps(doc))
    flipped["ciphertext"] = flipped["ciphertext"][:-4] + ("AAAA" if not flipped["ciphertext"].endswith("AAAA") else "BBBB")
    with pytest.raises(UsageError, match="changed or damaged"):
        fileformat.open_sealed(flipped, key, "f")


def test_an_encrypted_private_key_needs_its_passphrase(tmp_path):
    private, public = key_pair(tmp_path, passphrase=b"correct horse")
    doc = fileformat.seal(fileformat.load_recipient(str(public)), HEADER, VALUE)
    with pytest.raises(UsageError, match="passphrase"):
        fileformat.load_private_key(str(private), lambda: None)
    with pytest.raises(UsageError, match="wrong passphrase"):
        fileformat.load_private_key(str(private), lambda: "wrong")
    assert fileformat.open_sealed(doc, fileformat.load_private_key(str(private), lambda: "correct horse"), "f") == VALUE


def test_a_recipient_must_be_a_public_key_the_writer_cannot_decrypt_with(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    private, _ = key_pair(tmp_path)
    with pytest.raises(ConfigError, match="private key"):
        fileformat.load_recipient(str(private))
    small = tmp_path / "small.pem"
    small.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ConfigError, match="too small"):
        fileformat.load_recipient(str(small))
    curve = tmp_path / "ec.pem"
    curve.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ConfigError, match="not an X25519 or RSA"):
        fileformat.load_recipient(str(curve))
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(ConfigError, match="not a PEM public key"):
        fileformat.load_recipient(str(junk))
