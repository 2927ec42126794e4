"""Where the secrets are saved: the keyring by default (one entry per serial and kind, every save kept), escrow
files encrypted to the [escrow] recipient on a machine without a keyring, nowhere (a refusal) when neither; the
record of what was saved never holds a value."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from cleanup.clients.config import CloudConfig, load_config
from cleanup.errors import SafetyRefusal, UsageError
from cleanup.escrow import open_escrow
from cleanup.escrow.index import read
from cleanup.escrow.reveal import reveal
from tests.support.escrowkit import key_pair

SN = "C02ZK1ABMD6M"


def test_the_keyring_is_the_default_and_keeps_every_save_of_a_serial_and_kind(tmp_path, test_keyring):
    escrow = open_escrow(CloudConfig(), tmp_path / "state")
    assert escrow.name == "keyring" and "one entry per serial and kind" in escrow.where()
    escrow.save(SN, "filevault", "5", "RUN-1", [(None, "OLD1-KEY1")])
    escrow.save(SN, "filevault", "9", "RUN-2", [(None, "NEW2-KEY2")])
    escrow.save(SN, "laps", "9", "RUN-2", [("jamfadmin", "pw-a"), ("helpdesk", "pw-b")])
    entries = json.loads(test_keyring.read_text())
    assert sorted(entries) == [f"cleanup-escrow\x00{SN}:filevault", f"cleanup-escrow\x00{SN}:laps"]
    saves = json.loads(entries[f"cleanup-escrow\x00{SN}:filevault"])["saves"]
    assert [s["value"] for s in saves] == ["OLD1-KEY1", "NEW2-KEY2"]  # the older key is not overwritten
    rows = read(escrow.folder)
    assert [(r.kind, r.account, r.record) for r in rows] == [
        ("filevault", None, "5"),
        ("filevault", None, "9"),
        ("laps", "jamfadmin", "9"),
        ("laps", "helpdesk", "9"),
    ]
    index = (escrow.folder / "saved.jsonl").read_text()
    assert not any(v in index for v in ("OLD1-KEY1", "NEW2-KEY2", "pw-a", "pw-b"))
    assert stat.S_IMODE(escrow.folder.stat().st_mode) == 0o700 and stat.S_IMODE((escrow.folder / "saved.jsonl").stat().st_mode) == 0o600
    assert [r["value"] for r in reveal(escrow.folder, rows, None, lambda: None)] == ["OLD1-KEY1", "NEW2-KEY2", "pw-a", "pw-b"]


def test_without_a_keyring_the_files_are_encrypted_to_the_recipient_and_unreadable_without_its_key(tmp_path, no_keyring):
    private, public = key_pair(tmp_path / "keys")
    escrow = open_escrow(CloudConfig(escrow_recipient=str(public)), tmp_path / "state")
    assert escrow.name == "file" and str(public) in escrow.where()
    escrow.save(SN, "laps", "5", "RUN-1", [("jamfadmin", "S3cret-LAPS")])
    [row] = read(escrow.folder)
    path = escrow.folder / row.ref
    assert row.store == "file" and path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not any(b"S3cret-LAPS" in p.read_bytes() for p in escrow.folder.rglob("*") if p.is_file())
    with pytest.raises(UsageError, match="--key"):
        reveal(escrow.folder, [row], None, lambda: None)
    [shown] = reveal(escrow.folder, [row], str(private), lambda: None)
    assert shown["value"] == "S3cret-LAPS" and shown["account"] == "jamfadmin"


def test_neither_a_keyring_nor_a_recipient_is_nowhere_and_a_save_is_refused(tmp_path, no_keyring):
    escrow = open_escrow(CloudConfig(), tmp_path / "state")
    assert escrow.name == "none" and "no keyring backend" in escrow.problem and "[escrow] recipient" in escrow.problem
    with pytest.raises(SafetyRefusal):
        escrow.save(SN, "filevault", "5", "RUN-1", [(None, "K")])
    assert not (tmp_path / "state").exists()
    forced = open_escrow(CloudConfig(escrow_store="keyring"), tmp_path / "state")
    assert "store = keyring" in forced.problem


def test_store_file_is_used_even_where_a_keyring_exists(tmp_path, test_keyring):
    _, public = key_pair(tmp_path / "keys")
    escrow = open_escrow(CloudConfig(escrow_store="file", escrow_recipient=str(public), escrow_dir=str(tmp_path / "vault")), tmp_path / "state")
    escrow.save(SN, "recovery-lock", "5", "RUN-1", [(None, "rl-pass")])
    assert escrow.name == "file" and not test_keyring.exists() and read(tmp_path / "vault")[0].kind == "recovery-lock"


def test_the_escrow_section_of_the_config(tmp_path):
    _, public = key_pair(tmp_path / "keys")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[escrow]\nstore = "file"\nrecipient = "keys/{public.name}"\ndir = "vault"\n')
    loaded = load_config(cfg, env={})
    assert (loaded.escrow_store, loaded.escrow_recipient, loaded.escrow_dir) == ("file", str(public.resolve()), str((tmp_path / "vault").resolve()))
    cfg.write_text('[escrow]\nstore = "cloud"\n')
    with pytest.raises(UsageError, match="auto, keyring, file"):
        load_config(cfg, env={})
    cfg.write_text('[escrow]\nrecipient = "/nope/missing.pem"\n')
    with pytest.raises(UsageError, match="does not exist"):
        load_config(cfg, env={})


def test_a_recipient_that_is_a_private_key_is_refused_when_the_store_is_chosen(tmp_path, no_keyring):
    private, _ = key_pair(tmp_path / "keys")
    escrow = open_escrow(replace(CloudConfig(), escrow_recipient=str(private)), tmp_path / "state")
    with pytest.raises(UsageError, match="private key"):
        escrow.where()


def test_an_escrow_folder_behind_a_symlink_is_refused(tmp_path, test_keyring):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    escrow = open_escrow(CloudConfig(escrow_dir=str(link)), tmp_path / "state")
    with pytest.raises(SafetyRefusal, match="symlink"):
        escrow.save(SN, "filevault", "5", "RUN-1", [(None, "K")])
    assert not list(Path(real).iterdir()) and not test_keyring.exists()
