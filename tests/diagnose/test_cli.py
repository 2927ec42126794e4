"""`cleanup diagnose` as a user runs it: text and JSON, exit statuses, missing permissions, bad input."""

from __future__ import annotations

import json

from cleanup.lab.tenant.model import GRAPH_READONLY_ROLES
from tests.support.diagnose import fresh_token
from tests.support.lab import run_cli

FIELDS = {"id", "symptom", "status", "finding", "evidence", "likely_cause", "remedy", "playbook", "source", "models"}


def test_json_shape_and_exit_statuses(make_lab, tmp_path):
    lab = make_lab("intune-duplicates")
    fresh_token(lab.mac)
    args = ["diagnose", "--serial", lab.serial, "--host", f"sim:{lab.mac}", "--json"]
    r = run_cli(*args, state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)["data"]
    assert set(report) == {"serial", "host", "checked_at", "summary", "problems", "checks"}
    assert report["serial"] == lab.serial and report["host"] == f"sim:{lab.mac}"
    assert report["problems"] == ["intune-records", "entra-records"]
    assert report["summary"] == {"ok": 17, "problem": 2, "unknown": 0, "n/a": 5}  # n/a: the 2026 models' checks on a legacy Mac
    for check in report["checks"]:
        assert set(check) == FIELDS and check["status"] in ("ok", "problem", "unknown", "n/a")
    dup = next(c for c in report["checks"] if c["id"] == "intune-records")
    assert dup["playbook"] == "duplicates" and dup["likely_cause"].startswith("Cause 6")
    assert len(dup["evidence"]["records"]) == 3

    r = run_cli(*args, "--fail-on-problem", state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 3 and json.loads(r.stdout)["data"]["problems"] == ["intune-records", "entra-records"]
    assert lab.deleted() == []


def test_text_table_with_evidence(make_lab, tmp_path):
    lab = make_lab("cause5-partner-disabled")
    r = run_cli("diagnose", "--host", f"sim:{lab.mac}", state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"Diagnosis of Mac {lab.serial}" in out  # the serial came from the Mac itself
    for header in ("symptom", "status", "likely cause", "remedy", "playbook", "Evidence"):
        assert header in out
    assert "Turn the Intune integration back on in Jamf Pro" in out
    assert "problem partner-connection: Jamf is 'unavailable', not 'enabled'" in out
    assert '"partnerState": "unavailable"' in out


def test_missing_permissions_are_unknown_and_named(make_lab, tmp_path):
    lab = make_lab("clean")
    lab.tenant.add_graph_app("helpdesk", [r for r in GRAPH_READONLY_ROLES if r != "Application.Read.All"])
    lab.tenant.add_api_role("9", "inventory-less", ["Read API Roles"])
    lab.tenant.add_jamf_client("no-computers", ["9"])
    r = run_cli("diagnose", "--serial", lab.serial, "--host", "none", "--json", state_dir=tmp_path / "s", env=lab.env(graph="helpdesk", jamf="no-computers"))
    assert r.returncode == 0, r.stderr
    checks = {c["id"]: c for c in json.loads(r.stdout)["data"]["checks"]}
    for check_id in ("jamf-app-permissions", "connector-app"):
        assert checks[check_id]["status"] == "unknown"
        assert "needs the Graph application permission Application.Read.All" in checks[check_id]["finding"]
    for check_id in ("jamf-check-in", "jamf-records", "jamf-entra-state"):
        assert checks[check_id]["status"] == "unknown"
        assert "needs the Jamf Pro privilege Read Computers" in checks[check_id]["finding"]
    for check_id in ("intune-records", "partner-connection", "tenant-licences", "user-licence"):
        assert checks[check_id]["status"] == "ok", checks[check_id]
    assert checks["workplace-join"]["status"] == "unknown" and "--host" in checks["workplace-join"]["finding"]


def test_bad_input_stops_before_any_request(make_lab, tmp_path):
    lab = make_lab("clean")
    for bad in ("C02*", "c02zk1abmd6m", "C02ZK1ABMD6M;x", "SHORT"):
        r = run_cli("diagnose", "--serial", bad, "--host", f"sim:{lab.mac}", state_dir=tmp_path / "s", env=lab.env())
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
        assert "is not an Apple serial number" in r.stderr
    r = run_cli("diagnose", "--serial", lab.serial, "--jamf-app-id", "x' or 1", state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 2 and "is not a GUID" in r.stderr
    assert lab.server.stats()["total"] == 0 and lab.server.stats()["tokens"] == 0


def test_another_macs_serial_is_refused(make_lab, tmp_path):
    lab = make_lab("clean")
    r = run_cli("diagnose", "--serial", "C02YX2BCJG5H", "--host", f"sim:{lab.mac}", state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 4 and f"is Mac {lab.serial}, not C02YX2BCJG5H" in r.stderr
    assert lab.server.stats()["total"] == 0


def test_jamf_app_by_id(make_lab, tmp_path):
    lab = make_lab("clean")
    app_id = lab.tenant.directory.by_name("Jamf Pro")["appId"]
    base = ["diagnose", "--serial", lab.serial, "--host", "none", "--json"]
    r = run_cli(*base, "--jamf-app-id", app_id, state_dir=tmp_path / "s", env=lab.env())
    check = next(c for c in json.loads(r.stdout)["data"]["checks"] if c["id"] == "jamf-app-permissions")
    assert check["status"] == "ok" and check["evidence"]["app"]["appId"] == app_id
    r = run_cli(*base, state_dir=tmp_path / "s", env=lab.env(CLEANUP_JAMF_APP_ID="0f0e0d0c-0b0a-4908-8706-050403020100"))
    check = next(c for c in json.loads(r.stdout)["data"]["checks"] if c["id"] == "jamf-app-permissions")
    assert check["status"] == "problem" and check["likely_cause"] == "Cause 1" and "no admin consent" in check["finding"]
