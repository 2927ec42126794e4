"""`diagnose` finds each cause seeded in the emulated tenant, and only that cause (cloud checks, no Mac)."""

from __future__ import annotations

import pytest

from cleanup.diagnose import run_diagnose
from cleanup.hosts import open_host
from tests.support.diagnose import by_id, fresh_token, problems

# scenario -> (the check that must find it, likely cause starts with, playbook, every problem expected)
SEEDED = {
    "cause1-permissions": ("jamf-app-permissions", "Cause 1", None, {"jamf-app-permissions"}),
    "cause1-no-consent": ("jamf-app-permissions", "Cause 1", None, {"jamf-app-permissions"}),
    "cause2-no-connector": ("connector-app", "Cause 2", None, {"connector-app"}),
    "cause3-no-licence": ("user-licence", "Cause 3", None, {"user-licence"}),
    "cause5-partner-disabled": ("partner-connection", "Cause 5", None, {"partner-connection"}),
    "device-group-policy": ("compliance-policy-groups", "policy assigned to device groups", None, {"compliance-policy-groups"}),
    "unresponsive": ("jamf-check-in", "no check-in with Jamf Pro for 24 hours", None, {"jamf-check-in", "jamf-entra-state"}),
    "compliance-mismatch": ("compliance-mismatch", "Cause 6", "cause6", {"compliance-mismatch"}),
    "intune-duplicates": ("intune-records", "Cause 6", "duplicates", {"intune-records", "entra-records"}),
    "stale-entra": ("entra-records", "Cause 6", "duplicates", {"entra-records"}),
    "two-jamf-records": ("jamf-records", "Cause 6", "cause6", {"jamf-records"}),
}


@pytest.mark.parametrize("scenario", sorted(SEEDED))
def test_finds_the_seeded_cause(make_lab, cloud_of, scenario):
    check_id, cause, playbook, expected = SEEDED[scenario]
    lab = make_lab(scenario)
    checks = run_diagnose(lab.serial, None, cloud_of(lab))
    found = by_id(checks)[check_id]
    assert found.status == "problem", found
    assert found.likely_cause.startswith(cause) and found.playbook == playbook and found.remedy
    assert problems(checks) == expected
    assert lab.deleted() == []  # read-only


def test_evidence_names_ids_and_times(make_lab, cloud_of):
    lab = make_lab("intune-duplicates")
    checks = by_id(run_diagnose(lab.serial, None, cloud_of(lab)))
    records = checks["intune-records"].evidence["records"]
    assert sorted(r["id"] for r in records) == lab.of_serial()["intune"]
    assert all(r["lastSyncDateTime"] and r["azureADDeviceId"] for r in records)
    assert {r["managementAgent"] for r in records} == {"jamf", "mdm"}

    lab = make_lab("unresponsive", name="unresponsive")
    check_in = by_id(run_diagnose(lab.serial, None, cloud_of(lab)))["jamf-check-in"]
    assert 71 < check_in.evidence["hours_since_check_in"] < 73
    assert "3.0 days ago" in check_in.finding and check_in.evidence["records"][0]["lastContactTime"]


def test_more_causes_from_the_live_tenant(make_lab, cloud_of):
    """Faults changed while the tenant runs: a deactivated registration, a suspended subscription, a policy
    for all devices, a Mac registered with Intune outside Jamf."""
    lab = make_lab("clean")
    t = lab.tenant
    with t.lock:
        [record] = t.jamf_by_serial(lab.serial)
        record.local_users[0]["azureActiveDirectoryId"] = "DEACTIVATED"
        next(iter(t.directory.skus.values()))["status"] = "Suspended"
        t.directory.policy("macOS baseline")["targets"].append({"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"})
        [managed] = t.intune_by_serial(lab.serial)
        managed.management_agent = "mdm"
    checks = by_id(run_diagnose(lab.serial, None, cloud_of(lab)))
    assert checks["jamf-entra-state"].playbook == "cause6" and "DEACTIVATED" in checks["jamf-entra-state"].finding
    assert checks["tenant-licences"].status == "problem" and checks["tenant-licences"].likely_cause == "Cause 3"
    assert "All devices" in checks["compliance-policy-groups"].finding
    assert checks["intune-records"].likely_cause.startswith("Cause 4") and checks["intune-records"].playbook == "cause6"


def test_healthy_lab_has_no_problem(make_lab, cloud_of):
    lab = make_lab("clean")
    fresh_token(lab.mac)
    checks = run_diagnose(lab.serial, open_host(f"sim:{lab.mac}"), cloud_of(lab))
    assert [(c.id, c.status, c.finding) for c in checks if c.status not in ("ok", "n/a")] == []
    assert len(checks) == 24 and len({c.id for c in checks}) == 24
    assert {c.id for c in checks if c.status == "n/a"} == {"compliance-partner", "jamf-device-compliance", "microsoft-ca-settings", "psso-status", "app-sso"}
    match = by_id(checks)["registration-match"]
    assert match.evidence["registrations"][0]["deviceId"] == lab.identity.device_ids[0]


def test_without_cloud_the_cloud_checks_say_why(make_lab):
    lab = make_lab("clean")
    checks = run_diagnose(lab.serial, None, None)
    cloud = [c for c in checks if c.source == "cloud"]
    assert cloud and all(c.status == "unknown" and "configuration" in c.finding for c in cloud)
    device = [c for c in checks if c.source != "cloud"]
    assert all(c.status == "unknown" and "--host" in c.finding for c in device)
    assert lab.server.stats()["total"] == 0


def test_a_down_service_is_unknown_not_a_crash(make_lab, cloud_of):
    lab = make_lab("clean")
    cloud = cloud_of(lab, max_attempts=2, backoff_base=0.01, backoff_max=0.02)
    lab.server.faults.rate_5xx = 1.0
    checks = run_diagnose(lab.serial, None, cloud)
    assert problems(checks) == set()
    assert all(c.status == "unknown" and c.finding for c in checks)
