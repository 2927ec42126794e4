"""The cloud side of a reset on a 2026 tenant (`cleanup run --only cloud --serial SN`): step 0 classifies the Mac's
registration model with its evidence, step 11 follows the model, and verification checks what the model
registers (Device Compliance: no Intune record, one new Entra device, Jamf's compliance information)."""

from __future__ import annotations

from cleanup.lab.tenant import Faults
from cleanup.lab.tenant.model import new_guid
from tests.support.lab import run_cli
from tests.support.modelcloud import plan_steps, post, reregister, reset_cloud, verify_latest


def test_dry_run_shows_device_compliance_with_its_evidence_and_step_11_as_a_noop(make_lab, state_dir):
    lab = make_lab("device-compliance")
    steps = plan_steps(lab, state_dir)
    notes = steps["cloud-facts"]["notes"]
    assert "registration model: device-compliance" in steps["cloud-facts"]["noop_reason"]
    assert any("complianceManagementPartners: 'Jamf Device Compliance' is 'enabled', macOS onboarded True" in n for n in notes)
    assert any("device-compliance information applicable True" in n for n in notes)
    assert any("Intune: no record of serial" in n for n in notes)
    step11 = steps["delete-intune-records"]
    assert step11["status"] == "no-op" and step11["noop_reason"].startswith("no Intune record to delete: a Jamf Device Compliance Mac")
    assert lab.deleted() == []


def test_legacy_leftovers_are_deleted_as_such_and_other_intune_records_are_kept(make_lab, state_dir):
    lab = make_lab("legacy-leftovers")
    t = lab.tenant
    with t.lock:
        leftovers = sorted(d.id for d in t.intune.values() if d.serial == lab.serial)
    other = t.add_intune_device(lab.serial, lab.identity.name, new_guid(), management_agent="mdm", upn=lab.identity.user_upn)
    steps = plan_steps(lab, state_dir)
    assert len(leftovers) == 2
    assert sum("leftover: legacy Intune record" in n and "leftover of the legacy integration" in n for n in steps["cloud-facts"]["notes"]) == 2
    assert any("deviceManagementPartners: 'Jamf' is 'terminated'" in n for n in steps["cloud-facts"]["notes"])
    step11 = steps["delete-intune-records"]
    assert sorted(c["details"]["id"] for c in step11["changes"]) == leftovers
    assert all(c["target"].endswith("a leftover of the legacy integration") for c in step11["changes"])
    assert any(n.startswith(f"kept Intune device {other.id}") and "not managed by jamf" in n for n in step11["notes"])
    reset_cloud(lab, state_dir)
    deleted = lab.deleted()
    assert sorted(i for s, i in deleted if s == "intune") == leftovers and ("intune", other.id) not in deleted


def test_device_compliance_reset_verifies_the_new_registration_and_the_old_device_gone(make_lab, state_dir):
    lab = make_lab("device-compliance")
    with lab.tenant.lock:
        old = [(d.id, d.device_id) for d in lab.tenant.entra.values() if d.display_name == lab.identity.name]
    reset_cloud(lab, state_dir)
    assert [("entra", oid) for oid, _ in old] == [x for x in lab.deleted() if x[0] == "entra"]
    assert lab.tenant.directory.deleted_devices  # soft-deleted: kept 30 days, gone from /devices
    code, data = verify_latest(lab, state_dir)
    assert code == 3 and data["model"] == "device-compliance" and any("no new Jamf Pro record" in m for m in data["missing"])
    reg = reregister(lab)
    assert reg["intune_id"] is None
    code, data = verify_latest(lab, state_dir)
    assert code == 0 and data["verified"] and data["fully_verified"], data
    found = data["found"]
    assert found["device_id"] == reg["deviceId"] and found["entra"] == reg["entra_id"] and found["trust_type"] == "Workplace"
    assert found["compliance_state"] == "COMPLIANT" and found["intune"] is None and data["pending"] == []
    assert reg["deviceId"] not in {did for _, did in old}


def test_compliance_not_sent_yet_is_reported_as_pending_without_holding_back_verification(make_lab, state_dir, store):
    lab = make_lab("device-compliance", faults=Faults(compliance_delay=3600))
    reset_cloud(lab, state_dir)
    reregister(lab)
    code, data = verify_latest(lab, state_dir)
    assert code == 0 and data["verified"] and data["found"]["compliance_state"] == "UNKNOWN"
    assert data["pending"] and "pending" in data["pending"][0]
    text = run_cli("verify", "--latest", env=lab.env(), state_dir=state_dir)
    assert text.returncode == 0 and "compliance UNKNOWN; pending: compliance state pending" in text.stdout
    # the run's own verification: at the end of its bound (--no-wait: at once) it is done, the state reported pending
    res = run_cli("resume", "--latest", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    run, _ = store.load(store.latest())
    step = run.step("verify-registration")
    assert run.status == "done" and step.outcome.startswith("verified (Device Compliance)") and any("pending" in n for n in step.notes)


def test_a_new_jamf_managed_intune_record_on_a_device_compliance_tenant_is_reported(make_lab, state_dir):
    lab = make_lab("device-compliance")
    reset_cloud(lab, state_dir)
    reg = reregister(lab)
    intune = lab.tenant.add_intune_device(lab.serial, lab.identity.name, reg["deviceId"], upn=lab.identity.user_upn)
    code, data = verify_latest(lab, state_dir)
    assert code == 3 and data["verified"] and not data["fully_verified"]
    assert data["found"]["intune"] == [intune.id] and "the legacy integration should not register it" in data["warnings"][0]


def test_the_mac_not_registered_yet_is_what_verification_waits_for(make_lab, state_dir):
    lab = make_lab("device-compliance")
    reset_cloud(lab, state_dir)
    post(lab, "/_lab/jamf/enroll", {"serial": lab.serial, "name": lab.identity.name, "user_upn": lab.identity.user_upn})
    code, data = verify_latest(lab, state_dir)
    assert code == 3 and not data["verified"]
    assert any("no new Entra deviceId for Jamf Pro record" in m for m in data["missing"])
    assert any("no device-compliance information" in m for m in data["missing"])


def test_partners_unreadable_without_the_permission_is_unknown_never_a_failure(make_lab, state_dir):
    lab = make_lab("device-compliance")
    lab.tenant.add_graph_app("devices-only", ["Device.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All"])
    steps = plan_steps(lab, state_dir, graph="devices-only")
    notes = steps["cloud-facts"]["notes"]
    assert any("partner state unknown (no permission: DeviceManagementServiceConfig.Read.All" in n for n in notes)
    # Jamf Pro applies Device Compliance to the Mac's record: that tells the model without the partners
    assert "registration model: device-compliance" in steps["cloud-facts"]["noop_reason"]
    assert steps["cloud-preflight"]["status"] != "failed" and "DeviceManagementServiceConfig" not in steps["cloud-preflight"]["noop_reason"]
    reset_cloud(lab, state_dir, graph="devices-only")  # the reset runs through steps 0-11 all the same


def test_a_legacy_tenant_stays_legacy_and_reads_only_the_compliance_partners_besides(make_lab, state_dir):
    lab = make_lab("clean")
    lab.server.reset_stats()
    steps = plan_steps(lab, state_dir)
    assert "registration model: legacy" in steps["cloud-facts"]["noop_reason"]
    routes = lab.server.stats()["by_route"]
    assert routes.get("GET /v1.0/deviceManagement/complianceManagementPartners") == 1
    assert "GET /v1.0/deviceManagement/deviceManagementPartners" not in routes
    assert not any("device-compliance-information" in r for r in routes)
    assert [c["target"] for c in steps["delete-intune-records"]["changes"]] and not steps["delete-intune-records"]["changes"][0]["target"].endswith(
        "legacy integration"
    )
