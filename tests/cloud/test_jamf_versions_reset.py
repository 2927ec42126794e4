"""The whole Cause 6 reset through the real CLI against an old Jamf Pro (10.49.0: v1 routes, Classic groups) and a
current one (11.32.0: v4; the v1 inventory removed in the lab): both end verified, delete exactly the Mac's records,
put the new record back into its static group, and call no route their server deprecated or removed."""

from __future__ import annotations

import pytest

from tests.support.jamf_versions import LATER, OLD, at_jamf_version, jamf_routes_used, unserved_or_deprecated
from tests.support.lab import audit_events, drive_cli, lab_state
from tests.support.restorelab import exports

STATIC = "4"  # "Design Team Macs", which the Mac's record is in


@pytest.mark.slow
@pytest.mark.parametrize(("text", "api"), [(OLD, "v1"), (LATER, "v4")])
def test_a_whole_reset_on_an_old_and_a_current_server(make_lab, state_dir, store, text, api):
    lab = make_lab("intune-duplicates")
    at_jamf_version(lab.server, text)
    old = lab.of_serial()
    res, outs = drive_cli(["run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0"], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    run, _ = store.load(store.latest())
    assert run.status == "done" and run.step("verify-registration").outcome.startswith("verified")
    cloud = run.facts["cloud"]
    recorded = {("jamf", r["id"]) for r in cloud["jamf"]} | {("entra", r["id"]) for r in cloud["entra"]} | {("intune", r["id"]) for r in cloud["intune"]}
    assert sorted(lab.deleted()) == sorted(recorded) and ("jamf", old["jamf"][0]) in recorded
    assert all(r["last_contact"] for r in cloud["jamf"])  # read whatever the version calls it
    now = lab.of_serial()
    assert len(now["jamf"]) == 1 and now["jamf"] != old["jamf"] and STATIC in lab.tenant.jamf[now["jamf"][0]].groups
    [jamf_export] = [d for d in exports(store) if d["service"] == "jamf"]
    assert jamf_export["source"] == f"GET /api/{api}/computers-inventory-detail/{jamf_export['id']}"
    used = jamf_routes_used(lab.server)
    assert any(f"/api/{api}/computers-inventory" in r for r in used) and not any("/computers-inventory" in r and f"/api/{api}/" not in r for r in used), used
    assert unserved_or_deprecated(lab.server) == {} and lab.server.stats()["not_served"] == {}


def test_a_non_removable_profile_on_a_current_server_whose_answer_names_no_command(make_lab, state_dir, store):
    lab = make_lab("clean", mac_scenario="non-removable-mdm")
    at_jamf_version(lab.server, LATER)
    lab.server.service.v4_remove_mdm_answer = "empty"
    jamf_id = lab.of_serial()["jamf"][0]
    res, outs = drive_cli(["run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0", "--to", "remove-framework"], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert [(c["deviceId"], c["command"]) for c in lab.tenant.mdm_commands] == [(jamf_id, "REMOVE_MDM_PROFILE")]
    assert lab_state(lab.mac)["mdm"]["enrolled"] is False
    run, _ = store.load(store.latest())
    assert run.step("remove-mdm-profile").state == "done" and run.step("remove-framework").state == "done"
    [result] = [e for e in audit_events(state_dir) if e["event"] == "result" and e["step"] == "remove-mdm-profile"]
    assert "Jamf Pro named no command id" in result["result"]
    assert jamf_routes_used(lab.server)["POST /api/v4/computers-inventory/{cid}/remove-mdm-profile"] == 1
    assert unserved_or_deprecated(lab.server) == {}
