"""Device checks on simulated Macs, through the same Host the tool uses (no cloud: those checks say why)."""

from __future__ import annotations

import json

from cleanup.diagnose import run_diagnose
from cleanup.hosts import open_host
from cleanup.hosts.local import LocalHost
from tests.support.diagnose import by_id, fresh_token, set_jamfaad
from tests.support.lab import drive

DEVICE_CHECKS = {"portal-log-cause4", "portal-log-cause5", "jamfaad-state", "workplace-join", "login-keychains"}


def _device(mac, **kw):
    checks = run_diagnose(None, open_host(f"sim:{mac}"), None, **kw)
    assert all(c.status == "unknown" for c in checks if c.source == "cloud")
    return by_id(checks)


def test_cause4_log_line(make_mac):
    mac = make_mac(scenario="cause4-log", users=["alice"])
    fresh_token(mac)
    checks = _device(mac)
    found = checks["portal-log-cause4"]
    assert found.status == "problem" and found.likely_cause == "Cause 4" and found.playbook == "cause6"
    [hit] = found.evidence["hits"]
    assert hit["user"] == "alice" and hit["line"] == 2 and hit["logged_at"] == "2025-06-08 16:05:31:204"
    assert hit["file"].startswith("/Users/alice/Library/Logs/Company Portal/") and hit["file"].endswith(".log")
    assert {i for i in DEVICE_CHECKS if checks[i].status == "problem"} == {"portal-log-cause4"}


def test_cause5_log_line_and_a_quiet_log(make_mac):
    mac = make_mac(scenario="cause5-log", users=["alice"])
    checks = _device(mac)
    assert checks["portal-log-cause5"].status == "problem" and checks["portal-log-cause5"].likely_cause == "Cause 5"
    assert checks["portal-log-cause4"].status == "ok" and "1 Company Portal log file" in checks["portal-log-cause4"].finding


def test_stale_and_missing_jamfaad_state(make_mac):
    mac = make_mac(users=["alice"])
    stale = _device(mac)["jamfaad-state"]
    assert stale.status == "problem" and "older than 24 hours" in stale.finding
    assert stale.evidence["users"][0]["last_token_at"] == "2025-06-08T16:05:30Z"
    fresh_token(mac)
    assert _device(mac)["jamfaad-state"].status == "ok"
    set_jamfaad(mac, "alice", have_an_Azure_id=False)
    unregistered = _device(mac)["jamfaad-state"]
    assert unregistered.status == "problem" and unregistered.likely_cause == "not registered with Entra"


def test_workplace_join_missing_after_a_reset(make_mac, store):
    mac = make_mac(users=["alice"])
    before = _device(mac)["workplace-join"]
    assert before.status == "ok" and before.evidence["users"][0]["state"] == "registered"
    drive(store, mac)  # the device steps of the reset, through the restart
    after = _device(mac)
    wpj = after["workplace-join"]
    assert wpj.status == "problem" and wpj.playbook is None and "not registered" in wpj.finding
    assert wpj.evidence["users"] == [{"user": "alice", "state": "none", "device_ids": [], "certificates": [], "passwords": []}]
    assert after["jamfaad-state"].status == "unknown"  # the reset removed jamfAAD's preferences too
    assert after["registration-match"].status == "unknown"


def test_leftover_workplace_join_items_are_cause6(make_mac):
    mac = make_mac(users=["alice"])
    path = mac / "Users/alice/Library/Keychains/login.keychain-db"
    kc = json.loads(path.read_text())
    kc["items"] = [i for i in kc["items"] if i.get("acct") != "com.microsoft.workplacejoin.thumbprint"]
    path.write_text(json.dumps(kc))
    wpj = _device(mac)["workplace-join"]
    assert wpj.status == "problem" and wpj.playbook == "cause6" and "without its thumbprint" in wpj.finding


def test_locked_keychain_is_unknown_with_why(make_mac):
    mac = make_mac(users=["alice"], logged_out=["alice"])
    checks = _device(mac)
    for check_id in ("login-keychains", "workplace-join"):
        assert checks[check_id].status == "unknown", checks[check_id]
        assert "alice" in checks[check_id].finding and "locked" in checks[check_id].finding
    assert checks["registration-match"].status == "unknown"

    mac = make_mac("two", users=["alice", "bob"], logged_out=["bob"])
    checks = _device(mac)
    assert checks["login-keychains"].status == "unknown" and "bob" in checks["login-keychains"].finding
    assert checks["workplace-join"].status == "ok" and checks["workplace-join"].evidence["locked"] == ["bob"]


def test_not_a_mac(tmp_path):
    (tmp_path / "linux").mkdir()
    checks = run_diagnose("C02ZK1ABMD6M", LocalHost(str(tmp_path / "linux"), "linux-box"), None)
    device = [c for c in checks if c.source != "cloud"]
    assert device and all(c.status == "unknown" and "not a Mac" in c.finding for c in device)
