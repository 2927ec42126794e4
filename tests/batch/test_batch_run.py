"""`cleanup batch`: many flagged Macs at once, with faults on, resumable, within a deletion budget."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest

from tests.support.cloudlab import fleet, stale_ids
from tests.support.envelope import batch_result
from tests.support.lab import run_cli, start_cli

RUN = ("batch", "run", "--playbook", "duplicates", "--rule", "duplicates", "--yes", "--max-deletions", "500")


def test_select_lists_the_flagged_macs_with_reasons_and_evidence(make_lab, state_dir):
    lab, serials = fleet(make_lab, n=5)
    lab.tenant.add_mac("C02SINGLE001", "MBP-SINGLE", "x@contoso.example")  # registered once: not flagged
    res = run_cli("batch", "select", "--rule", "duplicates", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["data"]["macs"]
    assert [r["serial"] for r in rows] == sorted(serials)
    both = ["3 Intune records for the serial", "3 Entra devices for the Mac (3 by deviceId, 0 by name)"]
    assert all(r["reasons"] == both and len(r["evidence"]["intune"]) == 3 and len(r["evidence"]["entra"]) == 3 for r in rows)


@pytest.mark.slow
def test_batch_with_429_storms_and_5xx_deletes_exactly_the_stale_records_once(make_lab, state_dir, tmp_path):
    lab, serials = fleet(make_lab, n=24, rate_429=0.15, retry_after=0, rate_5xx=0.05, seed=3)
    want = stale_ids(lab, serials)
    assert len(want) == 24 * 4
    res = run_cli(*RUN, "--json", env=lab.env(), state_dir=state_dir, timeout=600)
    for _ in range(3):  # retryable failures are retried by the next run, as a scheduled job would
        if res.returncode != 1:
            break
        res = run_cli("batch", "resume", "--latest", "--json", env=lab.env(), state_dir=state_dir, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    got = lab.deleted()
    assert set(got) == want and max(Counter(got).values()) == 1
    out = batch_result(res.stdout)
    assert out["counts"] == {"done": 24}
    assert all(len(m["deleted"]) == 4 for m in out["macs"])
    for kind in ("json", "csv", "html"):
        assert os.path.exists(out["reports"][kind])


def test_max_deletions_refuses_before_anything_changes(make_lab, state_dir):
    lab, _serials = fleet(make_lab, n=6)
    before = lab.records()
    res = run_cli("batch", "run", "--playbook", "duplicates", "--rule", "duplicates", "--yes", "--max-deletions", "10", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and "24 cloud objects" in res.stderr and "--max-deletions 10" in res.stderr
    assert lab.records() == before
    dry = run_cli(
        "batch", "run", "--playbook", "duplicates", "--rule", "duplicates", "--dry-run", "--max-deletions", "10", "--json", env=lab.env(), state_dir=state_dir
    )
    assert dry.returncode == 4 and batch_result(dry.stdout)["total_deletions"] == 24 and lab.records() == before
    # neither the refused plan nor the dry-run left a batch behind for resume or status to find
    assert list((state_dir / "batches").iterdir()) == []
    status = run_cli("batch", "status", "--json", env=lab.env(), state_dir=state_dir)
    assert status.returncode == 0 and json.loads(status.stdout)["data"] == {"batches": []}


def test_a_second_invocation_exits_at_once_while_one_runs(make_lab, state_dir):
    lab, _serials = fleet(make_lab, n=30, latency_ms=40)
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), **lab.env())
    first = start_cli(*RUN, env=env)
    try:
        for _ in range(100):
            if (state_dir / "batch.lock").exists() and (state_dir / "batch.lock").read_text():
                break
            time.sleep(0.05)
        t0 = time.time()
        res = run_cli(*RUN, env=lab.env(), state_dir=state_dir)
        assert res.returncode == 4 and "already running" in res.stderr and time.time() - t0 < 10
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0


def test_killed_batch_resumes_with_no_mac_processed_twice_and_none_forgotten(make_lab, state_dir):
    lab, serials = fleet(make_lab, n=20, latency_ms=20)
    want = stale_ids(lab, serials)
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), **lab.env())
    proc = start_cli(*RUN, "--concurrency", "4", env=env)
    deadline = time.time() + 120
    while len(lab.tenant.deleted) < len(want) // 3 and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < len(lab.tenant.deleted) < len(want)
    res = run_cli("batch", "resume", "--latest", "--json", env=lab.env(), state_dir=state_dir, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    got = lab.deleted()
    assert set(got) == want and max(Counter(got).values()) == 1
    # one recorded run per Mac: none started twice (a run folder the kill left without its first checkpoint
    # never did anything and is not a run)
    runs = [r.name for r in (state_dir / "runs").iterdir() if (r / "state.json").exists()]
    per_mac = Counter(r.split("-")[0] for r in runs)
    assert sorted(per_mac) == sorted(serials) and set(per_mac.values()) == {1}, per_mac
