"""The envelope of `batch select`, `batch run` (and its dry-run), `batch resume` and `batch status`
(docs/json-batch.md): one envelope, or JSON Lines whose last line is the summary with the exit status."""

from __future__ import annotations

import json

from cleanup.lab.tenant.fleet import add_duplicated_macs
from tests.support.envelope import KEYS, failure, parse
from tests.support.lab import run_cli

RUN = ("batch", "run", "--playbook", "duplicates", "--rule", "duplicates")
MAC_KEYS = {"serial", "name", "host", "reasons", "evidence", "state", "run_id", "attempts", "outcome", "retryable", "not_before", "started", "ended", "deleted"}
PLAN_KEYS = {"serial", "name", "reasons", "host", "deletions", "problem"}
RUN_SUMMARY = {"event", "batch_id", "playbook", "counts", "reports"}
PLAN_SUMMARY = {"event", "dry_run", "macs", "total_deletions", "max_deletions"}


def lines(res, command: str, exit_code: int = 0) -> list[dict]:
    """A streaming command's JSON Lines, checked against the contract: every line an envelope of ``command``,
    every line but the last with exit_code 0, the last one with the command's and ``errors`` iff it failed."""
    assert res.returncode == exit_code, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert out, res.stderr[-2000:]
    for n, env in enumerate(out):
        last = n == len(out) - 1
        assert set(env) == (KEYS | {"errors"} if last and exit_code else KEYS), env
        assert env["schema_version"] == 1 and env["command"] == command
        assert env["exit_code"] == (exit_code if last else 0)
    if exit_code:
        assert all(set(e) == {"type", "message", "hint"} for e in out[-1]["errors"]) and res.stderr.strip()
    return [env["data"] for env in out]


def events(data: list[dict], event: str) -> list[dict]:
    return [d for d in data if d["event"] == event]


def test_batch_select(make_lab, state_dir):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 3)
    data = parse(run_cli("batch", "select", "--rule", "duplicates", "--json", env=lab.env(), state_dir=state_dir), "batch select")
    assert set(data) == {"macs"} and [m["serial"] for m in data["macs"]] == sorted(serials)
    assert all(set(m) == {"serial", "name", "reasons", "evidence"} for m in data["macs"])
    data, message = failure(run_cli("batch", "select", "--rule", "nonsense", "--json", state_dir=state_dir), "batch select", 2, "UsageError")
    assert data is None and "nonsense" in message


def test_batch_run_dry_run_streams_the_plan_then_its_summary(make_lab, state_dir):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 3)
    data = lines(run_cli(*RUN, "--dry-run", "--json", env=lab.env(), state_dir=state_dir), "batch run")
    plans, summary = events(data, "plan"), data[-1]
    assert [p["mac"]["serial"] for p in plans] == sorted(serials) and all(set(p["mac"]) == PLAN_KEYS for p in plans)
    assert set(summary) == PLAN_SUMMARY and summary["macs"] == 3 and summary["total_deletions"] == 12
    refused = lines(run_cli(*RUN, "--dry-run", "--max-deletions", "5", "--json", env=lab.env(), state_dir=state_dir), "batch run", 4)
    assert set(refused[-1]) == PLAN_SUMMARY and refused[-1]["total_deletions"] == 12


def test_batch_run_streams_each_mac_then_the_summary(make_lab, state_dir):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 3)
    data = lines(run_cli(*RUN, "--yes", "--max-deletions", "100", "--json", env=lab.env(), state_dir=state_dir), "batch run")
    assert sorted(p["serial"] for p in events(data, "progress")) == sorted(serials)
    macs = events(data, "mac")
    assert [m["mac"]["serial"] for m in macs] == sorted(serials) and all(set(m["mac"]) == MAC_KEYS for m in macs)
    summary = data[-1]
    assert set(summary) == RUN_SUMMARY and summary["counts"] == {"done": 3} and set(summary["reports"]) == {"json", "csv", "html"}
    assert [d["event"] for d in data][-1] == "summary" and data.index(summary) > max(map(data.index, macs))


def test_batch_run_refused_and_bad_options_are_one_error_envelope(make_lab, state_dir):
    lab = make_lab("empty")
    add_duplicated_macs(lab.tenant, 3)
    data, message = failure(run_cli(*RUN, "--yes", "--max-deletions", "5", "--json", env=lab.env(), state_dir=state_dir), "batch run", 4, "SafetyRefusal")
    assert data is None and "--max-deletions 5" in message
    data, message = failure(run_cli(*RUN, "--yes", "--host-template", "{serial", "--json", state_dir=state_dir), "batch run", 2, "UsageError")
    assert data is None and "--host-template" in message


def test_batch_resume_and_status(make_lab, state_dir):
    lab = make_lab("empty")
    add_duplicated_macs(lab.tenant, 2)
    failure(run_cli("batch", "resume", "--latest", "--json", state_dir=state_dir), "batch resume", 2, "UsageError")
    assert parse(run_cli("batch", "status", "--json", state_dir=state_dir), "batch status") == {"batches": []}
    run = lines(run_cli(*RUN, "--yes", "--max-deletions", "100", "--json", env=lab.env(), state_dir=state_dir), "batch run")
    bid = run[-1]["batch_id"]
    again = lines(run_cli("batch", "resume", bid, "--json", env=lab.env(), state_dir=state_dir), "batch resume")
    assert set(again[-1]) == RUN_SUMMARY and again[-1]["batch_id"] == bid and events(again, "progress") == []
    listed = parse(run_cli("batch", "status", "--json", state_dir=state_dir), "batch status")
    assert listed == {"batches": [{"batch_id": bid, "playbook": "duplicates", "counts": {"done": 2}}]}
    one = lines(run_cli("batch", "status", bid, "--json", state_dir=state_dir), "batch status")
    assert len(events(one, "mac")) == 2 and one[-1]["event"] == "summary" and one[-1]["counts"] == {"done": 2}
    assert "playbook_text" not in one[-1] and one[-1]["batch_id"] == bid
    failure(run_cli("batch", "status", "B-20261126T070000Z-0000", "--json", state_dir=state_dir), "batch status", 2, "UsageError")
