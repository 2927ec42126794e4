"""The batch ledger on disk: what resume and status rely on."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from cleanup.batch.ledger import Ledger, batch_lock
from cleanup.errors import LockHeld, StateError, UsageError


def _ledger(root, serials=("C02AAA000001", "C02AAA000002", "C02AAA000003")) -> Ledger:
    ledger = Ledger.create(root, "duplicates", {"concurrency": 2})
    with ledger.transaction():
        for sn in serials:
            ledger.add(sn, "listed in serials.txt")
    return ledger


def test_a_batch_is_invisible_until_its_plan_is_allowed_and_a_refused_one_leaves_nothing(tmp_path):
    ledger = _ledger(tmp_path)
    assert Ledger.batch_ids(tmp_path) == []  # planning: resume and status cannot see it
    ledger.discard()
    assert list((tmp_path / "batches").iterdir()) == []
    ledger = _ledger(tmp_path)
    ledger.open_for_run()
    assert Ledger.batch_ids(tmp_path) == [ledger.batch_id]
    ledger.update("C02AAA000001", state="done")
    ledger.close()
    again = Ledger.load(tmp_path, ledger.batch_id)
    assert again.counts() == {"done": 1, "pending": 2}
    assert stat.S_IMODE(again.path.stat().st_mode) == 0o600 and stat.S_IMODE(again.dir.stat().st_mode) == 0o700


def test_a_killed_invocations_planning_folder_is_discarded_by_the_next_one(tmp_path):
    ledger = _ledger(tmp_path)
    ledger.close()  # as if killed while planning
    Ledger.discard_abandoned(tmp_path)
    assert list((tmp_path / "batches").iterdir()) == []


def test_a_mac_flagged_twice_has_both_reasons_and_all_evidence(tmp_path):
    ledger = Ledger.create(tmp_path, "duplicates", {})
    ledger.add("C02AAA000001", "3 Intune records for the serial", "MBP-1", intune=["a", "b", "c"])
    ledger.add("C02AAA000001", "no Jamf Pro check-in for 24 h", None, jamf_id="7")
    ledger.add("C02AAA000001", "3 Intune records for the serial")
    mac = ledger.get("C02AAA000001")
    assert mac["name"] == "MBP-1" and mac["reasons"] == ["3 Intune records for the serial", "no Jamf Pro check-in for 24 h"]
    assert mac["evidence"] == {"intune": ["a", "b", "c"], "jamf_id": "7"} and mac["state"] == "pending"


def test_macs_come_in_serial_order_across_pages_and_a_plan_is_kept_per_mac(tmp_path):
    serials = [f"C02P{i:08d}" for i in range(1234, 0, -1)]  # more than two pages, added in reverse
    ledger = _ledger(tmp_path, serials)
    got = [m["serial"] for m in ledger.macs()]
    assert got == sorted(serials) and len(ledger) == 1234
    ledger.update("C02P00000007", plan={"deletions": ["x"]}, state="refused", outcome="ambiguous")
    assert ledger.plan("C02P00000007") == {"deletions": ["x"]} and ledger.plan("C02P00000008") is None
    assert [m["serial"] for m in ledger.macs("refused")] == ["C02P00000007"]
    assert len(list(ledger.macs(exclude="pending"))) == 1 and len(list(ledger.macs(("pending", "refused")))) == 1234


def test_due_macs_and_waits(tmp_path):
    ledger = _ledger(tmp_path, ["C02W00000001", "C02W00000002", "C02W00000003", "C02W00000004", "C02W00000005"])
    now = time.time()
    ledger.update("C02W00000001", state="done")
    ledger.update("C02W00000002", state="failed", retryable=True, attempts=1)
    ledger.update("C02W00000003", state="failed", retryable=True, attempts=3)  # tried often enough: a person looks
    ledger.update("C02W00000004", state="waiting", not_before=now + 60)
    ledger.update("C02W00000005", state="waiting", not_before=now - 1)
    assert ledger.waiting(now, set(), 10) == [("C02W00000005", now - 1)]
    assert [s for s, _ in ledger.waiting(None, {"C02W00000005"}, 10)] == ["C02W00000004"]
    assert ledger.runnable() == ["C02W00000002"]  # due, and not in a wait
    assert ledger.serials(after="C02W00000003", limit=1) == ["C02W00000004"]
    assert ledger.any_due()
    for sn in ("C02W00000002", "C02W00000004", "C02W00000005"):
        ledger.update(sn, state="done")
    assert not ledger.any_due()


def test_callers_name_states_never_sql(tmp_path):
    ledger = _ledger(tmp_path)
    for bad in ("state = 'refused'", "1) OR (1", "finished"):
        with pytest.raises(ValueError, match="no Mac state"):
            list(ledger.macs(bad))
    with pytest.raises(ValueError, match="no Mac state"):
        list(ledger.macs(exclude=("done", "1=1")))
    with pytest.raises(TypeError):
        ledger.serials(where="1")


def test_damaged_or_foreign_ledgers_are_refused_with_one_clear_error(tmp_path):
    ledger = _ledger(tmp_path)
    ledger.open_for_run()
    bid = ledger.batch_id
    ledger.close()
    with pytest.raises(UsageError):
        Ledger.load(tmp_path, "B-../../etc")
    with pytest.raises(UsageError, match="no batch"):
        Ledger.load(tmp_path, "B-20261126T070000Z-0000")
    conn = sqlite3.connect(tmp_path / "batches" / bid / "ledger.db")
    conn.execute("UPDATE meta SET value = '\"B-20261126T070000Z-ffff\"' WHERE key = 'batch_id'")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="not a cleanup batch ledger"):
        Ledger.load(tmp_path, bid)
    db = tmp_path / "batches" / bid / "ledger.db"
    for extra in ("-wal", "-shm"):
        (db.parent / (db.name + extra)).unlink(missing_ok=True)
    db.write_bytes(b"garbage" * 100)
    with pytest.raises(StateError, match="damaged"):
        Ledger.load(tmp_path, bid)


def test_changes_committed_before_a_kill_survive_it(tmp_path):
    ledger = _ledger(tmp_path, [f"C02K{i:08d}" for i in range(200)])
    ledger.open_for_run()
    bid = ledger.batch_id
    ledger.close()
    # a child process marks Macs done one by one and is SIGKILLed in the middle
    code = f"""
import sys, time
from cleanup.batch.ledger import Ledger
l = Ledger.load({str(tmp_path)!r}, {bid!r})
for i, m in enumerate(list(l.macs())):
    l.update(m["serial"], state="done", outcome=str(i))
    if i == 120:
        print("ready", flush=True)
        time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = Ledger.load(tmp_path, bid)
    assert again.counts() == {"done": 121, "pending": 79}


def test_one_batch_at_a_time(tmp_path):
    with batch_lock(tmp_path), pytest.raises(LockHeld, match="already running"), batch_lock(tmp_path):
        pass
