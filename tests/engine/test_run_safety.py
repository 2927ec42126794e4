"""Runs, state folders and locks: an unfinished run is never silently replaced, root trusts only a state folder
no one else can change, and one Mac has one run at a time whatever the state folder."""

from __future__ import annotations

import os
import plistlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts.local import LocalHost
from tests.support.lab import run_cli

DEVICE = ("--only", "device", "--yes", "--wait-seconds", "0")
OTHER_UID = 4321


def _paused_at_restart(mac: Path, state_dir: Path) -> str:
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, "--to", "restart", state_dir=state_dir)
    assert res.returncode == 3 and "restarting" in res.stderr, res.stderr
    return StateStore(state_dir).latest()


def _one_error_line(res) -> str:
    assert "Traceback" not in res.stderr, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res.stderr
    return lines[0]


# ------------------------------------------------------------------------------- 1. unfinished runs
def test_a_new_run_on_a_mac_with_an_unfinished_run_refuses_and_says_how_to_resume(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    rid = _paused_at_restart(mac, state_dir)
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, state_dir=state_dir)
    assert res.returncode == 4, res.stderr
    line = _one_error_line(res)
    assert rid in line and f"cleanup resume {rid}" in res.stderr
    assert StateStore(state_dir).run_ids() == [rid]  # no second run, no second step 0
    # a dry-run still plans (it changes nothing)
    assert run_cli("plan", "--host", f"sim:{mac}", "--only", "device", state_dir=state_dir).returncode == 0


def test_an_unfinished_run_in_another_state_folder_is_found_on_the_mac(make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    rid = _paused_at_restart(mac, tmp_path / "state-a")
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, state_dir=tmp_path / "state-b")
    assert res.returncode == 4, res.stderr
    assert rid in _one_error_line(res) and str(tmp_path / "state-a") in res.stderr
    assert StateStore(tmp_path / "state-b").run_ids() == []


def test_abandoning_the_unfinished_run_is_explicit_recorded_and_final(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    rid = _paused_at_restart(mac, state_dir)
    res = run_cli("abandon", rid, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    store = StateStore(state_dir)
    assert store.load(rid)[0].status == "abandoned"
    assert [r for r in AuditLog(store.run_dir(rid) / "audit.jsonl").records() if r["event"] == "run-abandoned"]
    again = run_cli("resume", rid, state_dir=state_dir)
    assert again.returncode == 4 and "abandoned" in _one_error_line(again)
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, state_dir=state_dir)
    assert res.returncode in (0, 3), res.stderr
    assert len(store.run_ids()) == 2


def test_a_finished_run_does_not_block_the_next(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, "--to", "remove-files", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, "--to", "remove-files", state_dir=state_dir)
    assert res.returncode == 0, res.stderr


# ------------------------------------------------------------------------------- 2. state folders as root
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="ownership checks apply to root (and chown needs root)")


@needs_root
def test_a_state_folder_owned_by_another_user_is_refused(make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, OTHER_UID, OTHER_UID)
    state.chmod(0o777)
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, state_dir=state)
    assert res.returncode == 4, res.stderr
    line = _one_error_line(res)
    assert str(state) in line and "owned by uid 4321" in line
    assert not (state / "runs").exists()


@needs_root
def test_a_state_folder_below_a_folder_others_can_change_is_refused(make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, OTHER_UID, OTHER_UID)
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, state_dir=theirs / "state")
    assert res.returncode == 4 and str(theirs) in _one_error_line(res), res.stderr
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, state_dir=shared / "state")
    assert res.returncode == 4 and "writable" in _one_error_line(res), res.stderr


@needs_root
def test_below_a_sticky_folder_only_a_root_owned_folder_is_trusted(make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    theirs = sticky / "theirs"
    theirs.mkdir()
    os.chown(theirs, OTHER_UID, OTHER_UID)
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, "--to", "preflight", state_dir=theirs / "state")
    assert res.returncode == 4 and str(theirs) in _one_error_line(res), res.stderr
    res = run_cli("run", "--host", f"sim:{mac}", *DEVICE, "--to", "remove-files", state_dir=sticky / "state")
    assert res.returncode == 0, res.stderr
    assert (sticky / "state").stat().st_mode & 0o777 == 0o700


@needs_root
def test_resume_refuses_a_state_folder_someone_else_could_have_swapped(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    rid = _paused_at_restart(mac, state_dir)
    state_dir.chmod(0o777)
    res = run_cli("resume", rid, state_dir=state_dir)
    assert res.returncode == 4 and str(state_dir) in _one_error_line(res), res.stderr
    runs = state_dir / "runs"
    state_dir.chmod(0o700)
    os.chown(runs, OTHER_UID, OTHER_UID)
    res = run_cli("resume", rid, state_dir=state_dir)
    assert res.returncode == 4 and str(runs) in _one_error_line(res), res.stderr


def test_the_boot_resume_daemon_names_the_state_folder_by_its_absolute_path(make_mac, tmp_path, monkeypatch):
    mac = make_mac(logged_out=[])
    monkeypatch.chdir(tmp_path)
    this_mac = LocalHost(str(mac), "local")  # the Mac itself, as `--host local` is: the daemon gets installed
    runner = Runner(StateStore(Path("relative-state")), this_mac, load_playbook("cause6"), RunOptions(yes=True, wait_seconds=0, autoresume=True))
    with pytest.raises(Paused):
        runner.start(Selection(only="device", stop="restart"))
    plist = plistlib.loads((mac / "Library/LaunchDaemons/com.cleanup.resume.plist").read_bytes())
    args = plist["ProgramArguments"]
    assert args[args.index("--state-dir") + 1] == str(tmp_path / "relative-state")


# ------------------------------------------------------------------------------- 4. one run per Mac
def _first_run_dir(state_dir: Path, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = state_dir / "runs"
        if runs.is_dir() and any((p / "state.json").exists() for p in runs.iterdir()):
            return StateStore(state_dir).latest()
        time.sleep(0.1)
    raise AssertionError("the first run never started")


def test_two_state_folders_cannot_run_on_one_mac_at_once(make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    a, b = tmp_path / "state-a", tmp_path / "state-b"
    waiting = ("--only", "device", "--yes", "--wait-seconds", "6", "--from", "wait-30-minutes", "--to", "wait-30-minutes")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(run_cli, "run", "--host", f"sim:{mac}", *waiting, state_dir=a)
        rid = _first_run_dir(a)
        second = run_cli("run", "--host", f"sim:{mac}", *waiting, state_dir=b)
        assert second.returncode == 4, second.stderr
        line = _one_error_line(second)
        assert "another cleanup run" in line and rid in line
        assert first.result().returncode == 0, first.result().stderr
    assert StateStore(b).run_ids() == []


def test_the_host_agent_holds_the_mac_lock_for_its_lifetime(make_mac):
    from cleanup.hosts.ssh.agent import Agent

    mac = make_mac(logged_out=[])
    first, second = Agent(str(mac)), Agent(str(mac))
    for agent in (first, second):
        agent.handle({"id": 0, "op": "hello", "args": {}})
    holder = '{"pid": 1, "run": "C02ZK1ABMD6M-20260101T000000Z-abcd", "state_dir": "/x"}'
    assert "ok" in first.handle({"id": 1, "op": "lock_run", "args": {"key": "C02ZK1ABMD6M", "holder": holder}})
    refused = second.handle({"id": 1, "op": "lock_run", "args": {"key": "C02ZK1ABMD6M", "holder": "{}"}})
    assert refused["error"]["type"] == "LockHeld" and "C02ZK1ABMD6M-20260101T000000Z-abcd" in refused["error"]["message"]
    first.handle({"id": 2, "op": "unlock_run", "args": {"note": ""}})
    assert "ok" in second.handle({"id": 2, "op": "lock_run", "args": {"key": "C02ZK1ABMD6M", "holder": "{}"}})


def test_runs_without_a_mac_share_one_lock_per_serial_whatever_the_state_folder():
    from cleanup.errors import LockHeld
    from cleanup.hosts.nohost import NoHost

    key = f"C02TEST{os.getpid()}-0123456789ab"
    a, b = NoHost(), NoHost()
    a.lock_run(key, '{"run": "A-RUN"}')
    try:
        with pytest.raises(LockHeld, match="A-RUN"):
            b.lock_run(key, "{}")
    finally:
        a.unlock_run("")
    b.lock_run(key, "{}")
    b.unlock_run("")
