"""`cleanup escrow list | show`: list never shows a value; show prints values only after a confirmation at a
terminal (or --yes), and for escrow files only with the recipient's private key."""

from __future__ import annotations

import json
import os
import sys

from cleanup.clients.config import CloudConfig
from cleanup.escrow import open_escrow
from tests.support.escrowkit import file_store_env, key_pair, keyring_env
from tests.support.lab import one_error, run_cli
from tests.support.ptykit import on_pty

SN = "C02ZK1ABMD6M"
KEY = "QX7D-K2PL-9MZA-4RTW-HB3N-V8CE"


def _saved(state_dir, test_keyring):
    escrow = open_escrow(CloudConfig(), state_dir)
    escrow.save(SN, "filevault", "5", "RUN-1", [(None, KEY)])
    escrow.save(SN, "laps", "5", "RUN-1", [("jamfadmin", "L4ps-Passw0rd")])
    return keyring_env(test_keyring)


def _on_terminal(args, env, state_dir, answer: str | None):
    full = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="200", **env)
    prompted = []

    def respond(screen: str, _fd: int) -> str | None:
        if answer is not None and not prompted and "?" in screen and "[y/N]" in screen:
            prompted.append(True)
            return answer
        return None

    return on_pty([sys.executable, "-m", "cleanup", *map(str, args)], full, respond)


def test_list_shows_what_was_saved_and_never_a_value(state_dir, test_keyring):
    env = _saved(state_dir, test_keyring)
    text = run_cli("escrow", "list", env=env, state_dir=state_dir)
    data = json.loads(run_cli("escrow", "list", "--serial", SN, "--kind", "laps", "--json", env=env, state_dir=state_dir).stdout)["data"]
    assert text.returncode == 0 and SN in text.stdout and "jamfadmin" in text.stdout and "RUN-1" in text.stdout
    assert [(r["kind"], r["account"], r["record"]) for r in data["saved"]] == [("laps", "jamfadmin", "5")]
    assert KEY not in text.stdout and "L4ps-Passw0rd" not in text.stdout + json.dumps(data)


def test_show_asks_at_a_terminal_and_prints_nothing_when_declined(state_dir, test_keyring):
    env = _saved(state_dir, test_keyring)
    code, screen = _on_terminal(["escrow", "show", SN], env, state_dir, "n")
    assert code == 2 and "not confirmed" in screen and KEY not in screen
    code, screen = _on_terminal(["escrow", "show", SN, "--kind", "filevault"], env, state_dir, "y")
    assert code == 0 and f"FileVault personal recovery key: {KEY}" in screen and "L4ps-Passw0rd" not in screen


def test_show_without_a_terminal_needs_yes(state_dir, test_keyring):
    env = _saved(state_dir, test_keyring)
    res = run_cli("escrow", "show", SN, env=env, state_dir=state_dir)
    assert "--yes" in one_error(res, 2) and KEY not in res.stdout + res.stderr
    res = run_cli("escrow", "show", SN, "--yes", env=env, state_dir=state_dir)
    assert res.returncode == 0 and KEY in res.stdout and "LAPS password of 'jamfadmin': L4ps-Passw0rd" in res.stdout


def test_bad_input_gets_one_line_and_status_2(state_dir, test_keyring):
    env = _saved(state_dir, test_keyring)
    assert "--kind takes" in one_error(run_cli("escrow", "show", SN, "--kind", "bitlocker", "--yes", env=env, state_dir=state_dir), 2)
    assert "serial" in one_error(run_cli("escrow", "show", "c02*", "--yes", env=env, state_dir=state_dir), 2)
    assert "nothing saved for Mac C02YX2BCJG5H" in one_error(run_cli("escrow", "show", "C02YX2BCJG5H", "--yes", env=env, state_dir=state_dir), 2)
    (state_dir / "escrow" / "saved.jsonl").write_text('{"serial": "C02ZK1ABMD6M"}\n')
    assert "not a line of ours" in one_error(run_cli("escrow", "list", env=env, state_dir=state_dir), 2)


def test_an_escrow_file_opens_with_an_encrypted_private_key_after_its_passphrase_at_a_terminal(state_dir, tmp_path, no_keyring):
    private, public = key_pair(tmp_path / "keys", passphrase=b"open sesame")
    open_escrow(CloudConfig(escrow_recipient=str(public)), state_dir).save(SN, "filevault", "5", "RUN-1", [(None, KEY)])
    env = file_store_env(public)
    res = run_cli("escrow", "show", SN, "--key", private, "--yes", env=env, state_dir=state_dir)
    assert "passphrase" in one_error(res, 2) and KEY not in res.stdout
    full = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="200", **env)
    code, screen = on_pty(
        [sys.executable, "-m", "cleanup", "escrow", "show", SN, "--key", str(private), "--yes"],
        full,
        lambda screen, _fd: "open sesame" if screen.endswith("Passphrase of the private key: ") else None,
    )
    assert code == 0 and KEY in screen and "open sesame" not in screen
