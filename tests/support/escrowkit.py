"""Helpers for the escrow tests: recipient key pairs, the keyring a child `cleanup` uses, secrets in the lab tenant,
and a search for leaked values in every file a run wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FILE_KEYRING = "tests.support.keyring_backend.FileKeyring"
NO_KEYRING = "keyring.backends.fail.Keyring"


def key_pair(folder: Path, kind: str = "x25519", passphrase: bytes | None = None) -> tuple[Path, Path]:
    """(private key file, public key file) of a fresh X25519 or RSA key pair, PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa, x25519

    folder.mkdir(parents=True, exist_ok=True)
    key = x25519.X25519PrivateKey.generate() if kind == "x25519" else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    private = folder / f"{kind}-key.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    os.chmod(private, 0o600)
    public = folder / f"{kind}-recipient.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def keyring_env(keyring_file: Path | None) -> dict:
    """Environment for a child `cleanup`: the file-backed test keyring at ``keyring_file``, or no keyring at all."""
    if keyring_file is None:
        return {"PYTHON_KEYRING_BACKEND": NO_KEYRING}
    return {"PYTHON_KEYRING_BACKEND": FILE_KEYRING, "CLEANUP_TEST_KEYRING": str(keyring_file)}


def file_store_env(recipient: Path, escrow_dir: Path | None = None) -> dict:
    env = {**keyring_env(None), "CLEANUP_ESCROW_RECIPIENT": str(recipient)}
    if escrow_dir is not None:
        env["CLEANUP_ESCROW_DIR"] = str(escrow_dir)
    return env


def seeded(lab, **kw) -> dict:
    """Give the lab Mac's Jamf record(s) escrowed secrets; returns {computer id: values} (a copy, as plain text)."""
    from cleanup.lab.tenant.scenarios import seed_escrowed_secrets

    entries = seed_escrowed_secrets(lab.tenant, lab.serial, **kw)
    return {
        cid: {"filevault": e.filevault_key, "recovery-lock": e.recovery_lock, "laps": {n: a.password for n, a in e.laps.items()}} for cid, e in entries.items()
    }


def values_of(secrets: dict) -> list[str]:
    out = []
    for entry in secrets.values():
        out += [v for v in (entry["filevault"], entry["recovery-lock"]) if v]
        out += list(entry["laps"].values())
    return out


def files_holding(root: Path, values: list[str]) -> list[str]:
    """Every file under ``root`` whose bytes contain one of ``values`` (JSON-escaped forms included)."""
    needles = {v.encode() for v in values} | {json.dumps(v)[1:-1].encode() for v in values}
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n in data for n in needles):
                found.append(str(path))
    return found


# -- fixtures (conftest modules import them) ----------------------------------------------------------------


@pytest.fixture
def test_keyring(tmp_path, monkeypatch):
    """This process's keyring is the file-backed test one (selected as a user would); yields its file."""
    import keyring
    import keyring.core

    path = tmp_path / "keyring.json"
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    monkeypatch.setenv("CLEANUP_TEST_KEYRING", str(path))
    keyring.core.init_backend()
    yield path
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(monkeypatch):
    """This process has no keyring backend (a server running a scheduled batch)."""
    import keyring
    import keyring.core

    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", NO_KEYRING)
    keyring.core.init_backend()
    yield
    keyring.set_keyring(previous)
