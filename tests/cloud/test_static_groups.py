"""After re-enrollment the Mac's new Jamf Pro record is put back into the static groups its deleted record belonged
to (smart groups follow by themselves), and the plan says so; a group gone or changed is not touched, several new
records are refused."""

from __future__ import annotations

import json

from tests.support.lab import run_cli
from tests.support.restorelab import cloud_run, reenroll

STATIC, OTHER_STATIC = "4", "3"


def _old_record(lab):
    [rec] = lab.tenant.jamf_by_serial(lab.serial)
    return rec


def test_the_plan_names_the_static_groups_the_new_record_gets_back(make_lab, state_dir):
    lab = make_lab("clean")
    res = run_cli("plan", "--only", "cloud", "--serial", lab.serial, "--json", env=lab.env(jamf="readonly", graph="readonly"), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    step = {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}["restore-static-groups"]
    [change] = step["changes"]
    assert change["kind"] == "add-to-static-group" and change["details"]["group_id"] == STATIC
    assert "the Mac's new Jamf Pro record (after re-enrollment)" in change["target"] and "'Design Team Macs'" in change["target"]
    assert any("smart groups follow by themselves: All Managed Clients, Intune Registered Macs" in n for n in step["notes"])


def test_the_new_record_gets_the_old_records_static_groups_and_nothing_else(make_lab, state_dir, store):
    lab = make_lab("clean")
    old = _old_record(lab)
    lab.tenant.jamf[old.id].groups.append(OTHER_STATIC)
    lab.tenant.groups["5"] = {"id": "5", "name": "Old Project", "smartGroup": False}
    lab.tenant.jamf[old.id].groups.append("5")
    assert cloud_run(lab, state_dir).returncode == 3  # deleted; the Mac has not re-enrolled yet
    del lab.tenant.groups["5"]  # removed from Jamf Pro meanwhile: not put back, and no group made
    new = reenroll(lab)
    assert lab.tenant.jamf[new["id"]].groups == ["1"]  # a new record is in the smart groups only
    res = run_cli("resume", "--latest", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert sorted(lab.tenant.jamf[new["id"]].groups) == sorted(["1", STATIC, OTHER_STATIC])
    run, _ = store.load(store.latest())
    st = run.step("restore-static-groups")
    assert st.state == "done" and st.outcome == "2 change(s) applied"
    assert any("static group 5 'Old Project' of the old record no longer exists" in n for n in st.notes)
    assert "5" not in lab.tenant.groups
    # resumed again (or run twice), nothing is added twice
    res = run_cli("resume", "--latest", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0 and sorted(lab.tenant.jamf[new["id"]].groups) == sorted(["1", STATIC, OTHER_STATIC])


def test_a_renamed_group_is_left_alone_and_two_new_records_are_refused(make_lab, state_dir, store):
    lab = make_lab("clean")
    assert cloud_run(lab, state_dir).returncode == 3
    lab.tenant.groups[STATIC]["name"] = "Renamed"
    reenroll(lab)
    lab.tenant.add_jamf_computer(lab.serial, lab.identity.name)  # a second new record of the serial
    res = run_cli("resume", "--latest", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and "2 new Jamf Pro records for serial" in res.stderr
    assert all(STATIC not in c.groups for c in lab.tenant.jamf_by_serial(lab.serial))
    lab.tenant.delete_jamf(lab.tenant.jamf_by_serial(lab.serial)[-1].id)
    res = run_cli("resume", "--latest", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    run, _ = store.load(store.latest())
    notes = run.step("restore-static-groups").notes
    assert any("group 4 is now named 'Renamed', not 'Design Team Macs': not put back" in n for n in notes)
    assert all(STATIC not in c.groups for c in lab.tenant.jamf_by_serial(lab.serial))


def test_without_the_privilege_to_update_static_groups_the_run_stops_before_any_delete(make_lab, state_dir):
    lab = make_lab("clean")
    lab.tenant.api_roles["1"]["privileges"].remove("Update Static Computer Groups")
    before = lab.records()
    res = cloud_run(lab, state_dir)
    assert res.returncode == 1 and "Update Static Computer Groups" in res.stderr
    assert lab.records() == before


def test_a_mac_in_no_static_group_needs_no_group_privilege(make_lab, state_dir):
    """Step 0 saw that the record is in no static group: a Jamf Pro role without the group privileges still runs."""
    lab = make_lab("clean")
    for c in lab.tenant.jamf_by_serial(lab.serial):
        c.groups[:] = [g for g in c.groups if lab.tenant.groups[g]["smartGroup"]]
    privileges = lab.tenant.api_roles["1"]["privileges"]
    privileges.remove("Update Static Computer Groups")
    privileges.remove("Read Static Computer Groups")
    res = cloud_run(lab, state_dir)
    assert res.returncode == 3 and "Static Computer Groups" not in res.stderr, res.stderr  # deleted; waits for re-enrollment
    assert {s for s, _ in lab.deleted()} == {"jamf", "entra", "intune"}
