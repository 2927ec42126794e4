"""Hostile text and files never give a traceback: an odd serial from ioreg is refused (status 4), a config or
checkpoint that is a device, a FIFO or huge is one line (status 2), read with a limit and fast."""

from __future__ import annotations

import os
import time

import pytest

from cleanup.engine.audit import AuditLog
from cleanup.engine.store import StateStore
from cleanup.errors import StateError
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import one_error, run_cli, set_lab_state
from tests.support.treecopy import copy_tree, restore


def runs(state_dir):
    d = state_dir / "runs"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


@pytest.mark.parametrize("serial, shown", [("", "''"), ("C02ZK1ABMD6M\nX", r"'C02ZK1ABMD6M\nX'"), ("C02ZK1ABMD6M\n", r"'C02ZK1ABMD6M\n'")])
def test_an_empty_or_multi_line_serial_is_the_odd_serial_refusal(make_mac, state_dir, serial, shown):
    mac = make_mac()
    set_lab_state(mac, serial=serial)  # what the Mac's ioreg then prints as IOPlatformSerialNumber
    before = tree_manifest(mac)
    for args in (("plan",), ("run", "--yes")):
        line = one_error(run_cli(*args, "--host", f"sim:{mac}", state_dir=state_dir), 4)
        assert f"reports an odd serial number {shown}; refusing to act on it" in line, line
    assert tree_manifest(mac) == before and runs(state_dir) == []


@pytest.fixture
def big_config(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("[jamf]\n" + "#" * (2 << 20) + "\n")
    return path


@pytest.mark.parametrize("which", ["dev-zero", "two-mib", "fifo"])
def test_a_config_that_is_a_device_a_fifo_or_huge(make_mac, state_dir, tmp_path, big_config, which):
    mac = make_mac()
    if which == "fifo":
        config = tmp_path / "config.fifo"
        os.mkfifo(config)
    else:
        config = "/dev/zero" if which == "dev-zero" else big_config
    for args in (("plan", "--host", f"sim:{mac}"), ("creds", "show")):
        started = time.monotonic()
        line = one_error(run_cli(*args, state_dir=state_dir, env={"CLEANUP_CONFIG": str(config)}, timeout=60), 2)
        assert time.monotonic() - started < 30
        assert f"config file {config}" in line and ("not a regular file" in line or "larger than" in line), line
    assert runs(state_dir) == []


@pytest.fixture(scope="module")
def _finished_template(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finished")
    live, pristine = tmp / "live", tmp / "pristine"
    mac, state_dir = live / "mac", live / "state"
    create_sim_mac(mac, logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "3", state_dir=state_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    copy_tree(str(live), str(pristine))
    store = StateStore(state_dir)
    return live, pristine, store.run_dir(store.latest())


@pytest.fixture
def finished_run(_finished_template):
    """A real run of steps 0-3, finished; each test gets a fresh copy of it."""
    live, pristine, run_dir = _finished_template
    restore(str(pristine), str(live))
    return live / "mac", run_dir


@pytest.mark.parametrize("which", ["fifo", "huge", "dev-zero-link"])
def test_a_state_file_replaced_by_a_fifo_or_a_huge_file(finished_run, which):
    mac, run_dir = finished_run
    state_dir = mac.parent / "state"
    state = run_dir / "state.json"
    state.unlink()
    if which == "fifo":
        os.mkfifo(state)
    elif which == "huge":
        with open(state, "wb") as fh:
            fh.truncate((64 << 20) + 1)  # sparse: just over the state file limit
    else:
        state.symlink_to("/dev/zero")
    before = tree_manifest(mac)
    for args in (("resume", run_dir.name), ("status", run_dir.name)):
        started = time.monotonic()
        line = one_error(run_cli(*args, state_dir=state_dir, timeout=60), 2)
        assert time.monotonic() - started < 30
        assert f"state file {state}" in line and ("not a regular file" in line or "larger than" in line), line
    assert tree_manifest(mac) == before


def test_a_stored_playbook_replaced_by_a_fifo(finished_run):
    mac, run_dir = finished_run
    state_dir = mac.parent / "state"
    (run_dir / "playbook.toml").unlink()
    os.mkfifo(run_dir / "playbook.toml")
    line = one_error(run_cli("resume", run_dir.name, state_dir=state_dir, timeout=60), 2)
    assert "stored playbook" in line and "not a regular file" in line, line


def test_an_audit_log_that_is_a_fifo_or_has_a_zero_filled_tail(tmp_path):
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(StateError, match=r"audit log .* is not a regular file"):
        AuditLog(fifo).records()
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(b'{"event": "run-start"}\n{"event": "inte' + b"\x00" * 4096 + b"\xff\n")
    assert AuditLog(torn).records() == [{"event": "run-start"}]
