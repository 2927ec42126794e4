"""`cleanup repair` on a simulated Mac and the emulated tenant: each situation gets its rung (register, jamf-manage,
the full reset), the dry-run changes nothing on the Mac or in the tenant, and a rung whose verification fails climbs,
reaching the full reset only with a yes."""

import json
import plistlib

import pytest

from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support import cloudlab
from tests.support.lab import lab_state, one_error, run_cli
from tests.support.models2026 import ca_calls
from tests.support.repairkit import (
    device_compliance_values_lost,
    ladder,
    never_registered,
    registration_reaches_no_tenant,
    run_ids,
    rungs_tried,
    unregistered_in_the_tenant,
)

make_lab = cloudlab.make_lab  # the emulated tenant fixture


def repair(lab, *args, state_dir):
    return run_cli("repair", "--host", f"sim:{lab.mac}", *args, env=lab.env(), state_dir=state_dir)


def unchanged(lab):
    return tree_manifest(lab.mac), lab.records()


def test_a_device_compliance_user_who_never_registered_is_registered_in_the_tenant(make_lab, state_dir):
    lab = make_lab("empty", mac_scenario="device-compliance")
    unregistered_in_the_tenant(lab)
    never_registered(lab.mac)
    before = unchanged(lab)
    dry = repair(lab, "--dry-run", "--json", state_dir=state_dir)
    assert dry.returncode == 0, dry.stderr
    data = json.loads(dry.stdout)["data"]
    assert data["status"] == "planned" and data["model"] == "device-compliance"
    assert data["choice"]["rung"] == "register" and data["choice"]["above"] == ["cause6"]
    assert {w.split(":")[0] for w in data["choice"]["why"]} == {"jamfaad-state", "workplace-join", "psso-status"}
    assert data["plan"]["playbook"] == "repair-register" and data["plan"]["total_changes"] == 2
    assert unchanged(lab) == before and lab.deleted() == [] and not state_dir.exists()

    res = repair(lab, state_dir=state_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rungs_tried(state_dir, lab.serial) == [("register", "verified")]
    reg = lab_state(lab.mac)["registrations"][-1]
    with lab.tenant.lock:
        device = lab.tenant.entra_by_device_id(reg["deviceId"])
        assert device is not None and device.trust_type == "Workplace"
    assert lab.deleted() == []  # nothing of the Mac's was deleted anywhere


def test_device_compliance_values_lost_from_the_jamf_plist_get_jamf_manage(make_lab, state_dir):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    device_compliance_values_lost(lab.mac)
    before = unchanged(lab)
    dry = repair(lab, "--dry-run", state_dir=state_dir)
    assert dry.returncode == 0 and "rung jamf-manage: `jamf manage` and `jamf recon` as root" in dry.stdout
    assert "because microsoft-ca-settings: the Mac is in Jamf Device Compliance, but microsoftCAEnabled is false" in dry.stdout
    assert unchanged(lab) == before

    res = repair(lab, state_dir=state_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rungs_tried(state_dir, lab.serial) == [("jamf-manage", "verified")]
    prefs = plistlib.loads((lab.mac / "Library/Preferences/com.jamfsoftware.jamf.plist").read_bytes())
    assert prefs["microsoftCAEnabled"] is True and prefs["microsoftCANativeClientAppId"] == "b03c10a8-71c7-45f9-b44a-3335ab76e970"
    state = lab_state(lab.mac)
    assert state["manages"] == 1 and state["recons"] == 1
    assert lab.records() == before[1] and lab.deleted() == []


def test_compliant_in_intune_not_in_entra_goes_to_the_full_reset_which_is_asked_for(make_lab, state_dir):
    lab = make_lab("compliance-mismatch")
    before = unchanged(lab)
    dry = repair(lab, "--dry-run", state_dir=state_dir)
    assert dry.returncode == 0, dry.stderr
    assert "rung cause6: the full Cause 6 reset" in dry.stdout and "because compliance-mismatch: Intune reports the Mac compliant" in dry.stdout
    assert "playbook cause6 — dry-run, nothing is changed" in dry.stdout and "delete-entra-device" in dry.stdout
    line = one_error(repair(lab, state_dir=state_dir), 4)
    assert "the full Cause 6 reset of Mac C02ZK1ABMD6M was not confirmed: nobody answered at a terminal" in line
    assert unchanged(lab) == before and lab.deleted() == [] and run_ids(state_dir) == []


@pytest.mark.slow
def test_a_rung_that_does_not_verify_climbs_and_reaches_the_reset_only_with_a_yes(make_lab, state_dir):
    lab = make_lab("empty", mac_scenario="device-compliance")
    unregistered_in_the_tenant(lab)
    never_registered(lab.mac)
    registration_reaches_no_tenant(lab.mac)  # Company Portal registers alice on the Mac; Entra never hears of it
    records = lab.records()
    res = repair(lab, state_dir=state_dir)
    assert res.returncode == 4, res.stdout + res.stderr
    assert "rung register failed: not verified: the diagnosis still finds registration-match" in res.stdout
    assert "rung cause6: the full Cause 6 reset" in res.stdout and "because registration-match" in res.stdout
    assert rungs_tried(state_dir, lab.serial) == [("register", "failed"), ("cause6", "refused")]
    assert lab.records() == records and lab.deleted() == []
    [register_run] = run_ids(state_dir)
    status = json.loads(run_cli("status", register_run, "--json", state_dir=state_dir).stdout)["data"]
    assert status["status"] == "done"  # the rung's own run ended; the diagnosis after it found the registration unknown to Entra

    # with a yes the ladder goes on at the reset: register is not tried again
    res = repair(lab, "--yes", "--wait-seconds", "0", "--no-autoresume", state_dir=state_dir)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "rung register" not in res.stdout and "rung cause6 (run " in res.stderr
    assert [c["verb"] for c in ca_calls(lab.mac)].count("registerWithIntune") == 1
    attempts = ladder(state_dir, lab.serial)["attempts"]
    assert [(a["rung"], a["status"]) for a in attempts] == [("register", "failed"), ("cause6", "refused"), ("cause6", "paused")]
    assert attempts[-1]["run_id"] in run_ids(state_dir) and attempts[-1]["run_id"] != register_run


def test_a_rung_that_fails_is_given_up_on_the_record_and_the_ladder_climbs(make_lab, state_dir):
    lab = make_lab("device-compliance", mac_scenario="no-jamf")  # Jamf Pro sets Device Compliance up; the Mac lost its framework
    res = repair(lab, state_dir=state_dir)
    assert res.returncode == 4, res.stdout + res.stderr
    assert "rung jamf-manage failed: the Jamf framework is not installed (/usr/local/jamf/bin/jamf is absent)" in res.stdout
    assert rungs_tried(state_dir, lab.serial) == [("jamf-manage", "failed"), ("cause6", "refused")]
    [run] = run_ids(state_dir)
    status = json.loads(run_cli("status", run, "--json", state_dir=state_dir).stdout)["data"]
    assert status["status"] == "abandoned"  # given up on the record: the next rung's run may start on this Mac
    events = [json.loads(line) for line in (state_dir / "runs" / run / "audit.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "run-abandoned" and events[-1]["by"].startswith("cleanup repair: rung jamf-manage failed (the Jamf framework")
    assert lab.deleted() == []
