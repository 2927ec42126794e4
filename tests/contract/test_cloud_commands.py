"""The envelope of the commands that talk to the emulated tenant: `diagnose`, `creds show|test`, `verify`."""

from __future__ import annotations

from tests.support.envelope import failure, parse
from tests.support.lab import run_cli

DIAGNOSE_KEYS = {"serial", "host", "checked_at", "summary", "problems", "checks"}


def test_diagnose(make_lab, state_dir):
    lab = make_lab("intune-duplicates")
    args = ["diagnose", "--serial", lab.serial, "--host", "none", "--json"]
    data = parse(run_cli(*args, env=lab.env(), state_dir=state_dir), "diagnose")
    assert set(data) == DIAGNOSE_KEYS and "intune-records" in data["problems"]
    found = parse(run_cli(*args, "--fail-on-problem", env=lab.env(), state_dir=state_dir), "diagnose", 3, errors=False)
    assert found["problems"] == data["problems"]
    data, message = failure(run_cli("diagnose", "--serial", "C02*", "--json", env=lab.env(), state_dir=state_dir), "diagnose", 2, "UsageError")
    assert data is None and "serial" in message


def test_creds_show_and_test(make_lab, state_dir):
    lab = make_lab("clean")
    shown = parse(run_cli("creds", "show", "--json", env=lab.env(), state_dir=state_dir), "creds show")
    assert set(shown) == {"config_path", "config_exists", "settings", "secrets"}
    tested = parse(run_cli("creds", "test", "--json", env=lab.env(), state_dir=state_dir), "creds test")
    assert tested["run_possible"] is True and set(tested) == {"jamf", "graph", "run_possible"}
    env = {**lab.env(), "CLEANUP_GRAPH_CLIENT_SECRET": "wrong"}
    data, _ = failure(run_cli("creds", "test", "graph", "--json", env=env, state_dir=state_dir), "creds test", 1, "CleanupError")
    assert data["run_possible"] is False and data["graph"]["authenticated"] is False


def test_verify_not_yet_carries_the_check(make_lab, state_dir):
    lab = make_lab("clean")
    res = run_cli("run", "--host", f"sim:{lab.mac}", "--yes", "--to", "0", "--json", env=lab.env(), state_dir=state_dir)
    rid = parse(res, "run")["run_id"]
    data, _ = failure(run_cli("verify", rid, "--json", env=lab.env(), state_dir=state_dir), "verify", 3, "Paused")
    assert data["run_id"] == rid and data["verified"] is False and data["serial"] == lab.serial
