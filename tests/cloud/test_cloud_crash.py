"""Crash matrix for the cloud steps: the process is killed (SIGKILL, by the emulator, from outside) right before
or right after each delete reaches the service; `cleanup resume` then finishes the job. No object is deleted
twice, none is forgotten, and the audit log accounts for every recorded object exactly once."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.support.cloudlab import expected_deletes
from tests.support.lab import audit_events, run_cli, start_cli

pytestmark = pytest.mark.slow

DELETES = 7  # intune-duplicates: 1 Jamf record, 3 Entra devices, 3 Intune records


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("nth", range(1, DELETES + 1))
def test_killed_around_each_delete_then_resumed(make_lab, state_dir, nth, when):
    lab = make_lab("intune-duplicates")
    want = expected_deletes(lab)
    assert len(want) == DELETES
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), **lab.env())
    proc = start_cli("run", "--only", "cloud", "--serial", lab.serial, "--yes", "--wait-seconds", "0", "--to", "delete-intune-records", env=env)
    lab.server.faults.kill_on_delete = {"pid": proc.pid, "nth": nth, "when": when}
    assert proc.wait(timeout=120) == -9
    res = run_cli("resume", "--latest", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    deleted = lab.deleted()
    assert Counter(deleted).most_common(1)[0][1] == 1  # nothing deleted twice
    assert set(deleted) == want  # nothing forgotten, nothing else
    results = [
        e for e in audit_events(state_dir) if e["event"] == "result" and e["kind"] in ("delete-jamf-record", "delete-entra-device", "delete-intune-record")
    ]
    effective = Counter(e["key"] for e in results if e["changed"])
    assert sorted(effective) == sorted(f"{s}:{i}" for s, i in want) and set(effective.values()) == {1}
