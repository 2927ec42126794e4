"""The Jamf scripts (scripts/jamf/) run as Jamf runs them, against a simulated Mac; and simulated Macs edited into the
states the extension attribute tells apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.lab import REPO, run_cli

POLICY = REPO / "scripts/jamf/cleanup-policy.sh"
EA = REPO / "scripts/jamf/cleanup-ea.sh"
CLEANUP_BIN = f"{sys.executable} -m cleanup"
#: Jamf's own three arguments: the target volume, the computer name, the user name
JAMF_ARGS = ("/", "MBP-ALICE", "alice")
ANSI = "\x1b"


def script_env(mac: Path | None, state_dir: Path, **extra: str) -> dict[str, str]:
    """The environment a lab run of the scripts gets: this interpreter running cleanup, the simulated Mac as the
    host, the test's state folder, no cloud configuration and nothing else of the caller's CLEANUP_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
    env.update(CLEANUP_BIN=CLEANUP_BIN, CLEANUP_STATE_DIR=str(state_dir), CLEANUP_CONFIG=str(state_dir.parent / "no-config.toml"))
    if mac is not None:
        env["CLEANUP_HOST"] = f"sim:{mac}"
    env.update(extra)
    return env


def run_policy(mac: Path | None, state_dir: Path, *params: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """`sh cleanup-policy.sh / MBP-ALICE alice $4 … $11`, as a Jamf policy runs it."""
    e = env if env is not None else script_env(mac, state_dir)
    return subprocess.run(["sh", str(POLICY), *JAMF_ARGS, *params], capture_output=True, text=True, env=e, timeout=timeout, cwd=REPO)


def run_ea(mac: Path | None, state_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    e = env if env is not None else script_env(mac, state_dir)
    return subprocess.run(["sh", str(EA)], capture_output=True, text=True, env=e, timeout=120, cwd=REPO)


def ea_result(mac: Path, state_dir: Path, *extra: str) -> str:
    """`cleanup diagnose --format jamf-ea --host sim:MAC`: its one line (checked to be exactly one), without the tags."""
    res = run_cli("diagnose", "--format", "jamf-ea", "--host", f"sim:{mac}", *extra, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split("\n")
    assert len(lines) == 2 and lines[1] == "", res.stdout  # one line, newline-terminated, nothing else
    line = lines[0]
    assert line.startswith("<result>") and line.endswith("</result>"), line
    inner = line[len("<result>") : -len("</result>")]
    assert not set(inner) & set("<>&") and inner.isprintable(), inner
    return inner


def runs(state_dir: Path) -> list[str]:
    folder = state_dir / "runs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def run_state(state_dir: Path, run_id: str) -> dict:
    return json.loads((state_dir / "runs" / run_id / "state.json").read_text())


# -- simulated Macs in the extension attribute's states ----------------------------------------------------


def login_keychain(mac: Path, user: str) -> Path:
    return mac / f"Users/{user}/Library/Keychains/login.keychain-db"


def edit_keychain(mac: Path, user: str, edit) -> None:
    """Rewrite a user's login keychain on a simulated Mac: ``edit(items)`` returns the new item list."""
    path = login_keychain(mac, user)
    kc = json.loads(path.read_text())
    kc["items"] = edit(kc["items"])
    path.write_text(json.dumps(kc))


def drop_items(mac: Path, user: str, keep) -> None:
    edit_keychain(mac, user, lambda items: [i for i in items if keep(i)])


def add_wpj_certificate(mac: Path, user: str, device_id: str) -> None:
    """A second MS-ORGANIZATION-ACCESS certificate in the user's login keychain: a registration left by an earlier try."""

    def add(items):
        cert = dict(next(i for i in items if i.get("class") == "cert" and i.get("issuer_cn") == "MS-ORGANIZATION-ACCESS"))
        cert.update(labl=device_id, alis=device_id, subject_cn=device_id, sha1="AB" * 20, sha256="CD" * 32, hpky="EF" * 20)
        return [*items, cert]

    edit_keychain(mac, user, add)


def is_wpj(item: dict) -> bool:
    """A Workplace Join item: the certificate, its keys, the workplacejoin passwords."""
    return (
        item.get("issuer_cn") == "MS-ORGANIZATION-ACCESS"
        or (item.get("labl") or "") == "Microsoft Workplace Join Key"
        or (item.get("acct") or "").startswith("com.microsoft.workplacejoin.")
    )
