"""The envelope of `plan`, `run`, `resume`, `status`, `verify` and `abandon` (docs/json.md)."""

from __future__ import annotations

import pytest

from tests.support.envelope import failure, parse
from tests.support.lab import run_cli

PLAN_KEYS = {"dry_run", "host", "playbook", "facts", "total_changes", "steps", "refusals"}
RUN_KEYS = {"run_id", "status", "serial", "computer_name", "host", "playbook", "steps"}


def _runs(state_dir) -> list:
    runs = state_dir / "runs"
    return sorted(runs.iterdir()) if runs.exists() else []


def test_plan(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    data = parse(run_cli("plan", "--host", f"sim:{mac}", "--json", state_dir=state_dir), "plan")
    assert set(data) == PLAN_KEYS and data["dry_run"] is True and data["total_changes"] > 0
    data, message = failure(run_cli("plan", "--only", "everything", "--json", state_dir=state_dir), "plan", 2, "UsageError")
    assert data is None and "--only" in message


def test_run_dry_run_is_named_run(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    data = parse(run_cli("run", "--dry-run", "--host", f"sim:{mac}", "--json", state_dir=state_dir), "run")
    assert set(data) == PLAN_KEYS


def test_run_done_then_paused(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    done = parse(run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", "--json", state_dir=state_dir), "run")
    assert set(done) >= RUN_KEYS and done["status"] == "done"
    locked = make_mac("locked")  # bob is logged out: his keychain cannot be purged now
    paused, _ = failure(run_cli("run", "--host", f"sim:{locked}", "--only", "device", "--yes", "--json", state_dir=state_dir), "run", 3, "Paused")
    assert paused["status"] == "paused" and paused["run_id"] != done["run_id"]


def test_resume(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    rid = parse(run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", "--json", state_dir=state_dir), "run")["run_id"]
    data = parse(run_cli("resume", rid, "--json", state_dir=state_dir), "resume")
    assert data["run_id"] == rid and data["status"] == "done"
    data, _ = failure(run_cli("resume", "--json", state_dir=state_dir), "resume", 2, "UsageError")
    assert data is None


def test_status_has_one_shape(make_mac, state_dir):
    assert parse(run_cli("status", "--json", state_dir=state_dir), "status") == {"runs": [], "damaged": []}
    mac = make_mac(logged_out=[])
    rid = parse(run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", "--json", state_dir=state_dir), "run")["run_id"]
    listed = parse(run_cli("status", "--json", state_dir=state_dir), "status")
    assert [r["run_id"] for r in listed["runs"]] == [rid] and listed["damaged"] == []
    one = parse(run_cli("status", "--latest", "--json", state_dir=state_dir), "status")
    assert one["run_id"] == rid and set(one) >= RUN_KEYS
    failure(run_cli("status", "no-such-run", "--json", state_dir=state_dir), "status", 2, "UsageError")


def test_status_lists_a_damaged_run_apart(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    for _ in range(2):
        assert run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", state_dir=state_dir).returncode == 0
    good, bad = _runs(state_dir)
    (bad / "state.json").write_text("{not json")
    data = parse(run_cli("status", "--json", state_dir=state_dir), "status")
    assert [r["run_id"] for r in data["runs"]] == [good.name]
    assert [d["run_id"] for d in data["damaged"]] == [bad.name] and set(data["damaged"][0]) == {"run_id", "error"}


def test_verify_without_a_run(state_dir):
    data, message = failure(run_cli("verify", "--latest", "--json", state_dir=state_dir), "verify", 2, "UsageError")
    assert data is None and "no runs" in message


def test_abandon(make_mac, state_dir):
    mac = make_mac()
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--json", state_dir=state_dir)
    rid = parse(res, "run", 3)["run_id"]
    data = parse(run_cli("abandon", rid, "--json", state_dir=state_dir), "abandon")
    assert data["run_id"] == rid and data["status"] == "abandoned"
    failure(run_cli("abandon", rid, "--json", state_dir=state_dir), "abandon", 2, "UsageError")


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-1", "604801"])
def test_wait_seconds_out_of_range_is_refused_before_any_run(make_mac, state_dir, value):
    mac = make_mac(logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", value, state_dir=state_dir)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: --wait-seconds"), res.stderr
    assert _runs(state_dir) == []
    _, message = failure(run_cli("run", "--host", f"sim:{mac}", "--yes", "--wait-seconds", value, "--json", state_dir=state_dir), "run", 2, "UsageError")
    assert "--wait-seconds" in message and _runs(state_dir) == []


def test_resume_wait_seconds_is_checked_first(make_mac, state_dir):
    mac = make_mac()
    rid = parse(run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--json", state_dir=state_dir), "run", 3)["run_id"]
    before = (state_dir / "runs" / rid / "state.json").read_bytes()
    res = run_cli("resume", rid, "--wait-seconds", "inf", state_dir=state_dir)
    assert res.returncode == 2 and res.stderr.startswith("error: --wait-seconds") and res.stderr.count("\n") == 1
    assert (state_dir / "runs" / rid / "state.json").read_bytes() == before
