"""Deleting the wrong device is the worst bug: exact matching, refusal on ambiguity, re-reading before delete."""

from __future__ import annotations

import json

import pytest

from tests.support.lab import drive_cli, run_cli

CLOUD_ONLY = ("--yes", "--wait-seconds", "0", "--to", "delete-intune-records")


def errors(res) -> list[str]:
    return [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]


@pytest.mark.parametrize("serial", ["C02*", 'C02" or "1"=="1', "C02ZK1AB;MD6M", "C02ZK1AB,MD6M", "c02zk1abmd6m", "C02ZK1ABMD6M\n"])
def test_odd_serials_are_refused_before_any_request(make_lab, state_dir, serial):
    lab = make_lab("clean")
    lab.server.reset_stats()
    for cmd in (["plan"], ["run", "--yes"]):
        res = run_cli(*cmd, "--only", "cloud", "--serial", serial, env=lab.env(), state_dir=state_dir)
        assert res.returncode == 2 and len(errors(res)) == 1 and "not an Apple serial" in errors(res)[0]
    assert lab.server.stats()["total"] == 0 and lab.tenant.deleted == []


def test_two_jamf_records_stop_with_status_4_listing_both_until_the_operator_chooses(make_lab, state_dir):
    lab = make_lab("two-jamf-records")
    ids = lab.of_serial()["jamf"]
    assert len(ids) == 2
    before = lab.records()
    res = run_cli("run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and len(errors(res)) == 1
    assert all(i in errors(res)[0] for i in ids) and "--jamf-record" in res.stderr
    assert lab.records() == before
    plan = run_cli("plan", "--only", "cloud", "--serial", lab.serial, "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 4  # the dry-run shows the same refusal, and the rest of the plan
    steps = {s["id"]: s for s in json.loads(plan.stdout)["data"]["steps"]}
    assert steps["delete-jamf-record"]["status"] == "cannot-plan" and len(steps["delete-intune-records"]["changes"]) == 1
    keep, drop = sorted(ids, key=lambda i: lab.tenant.jamf[i].last_contact)[1], sorted(ids, key=lambda i: lab.tenant.jamf[i].last_contact)[0]
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, "--jamf-record", drop, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert ("jamf", drop) in lab.deleted() and keep in lab.tenant.jamf


def test_a_pick_that_is_not_a_candidate_is_refused(make_lab, state_dir):
    lab = make_lab("two-jamf-records")
    res = run_cli("run", "--only", "cloud", "--serial", lab.serial, "--jamf-record", "999999", *CLOUD_ONLY, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 2 and "not among" in errors(res)[0]
    assert lab.tenant.deleted == []


def test_an_object_whose_identity_changed_after_step_0_is_not_deleted(make_lab, state_dir):
    lab = make_lab("clean")
    jamf_id = lab.of_serial()["jamf"][0]
    # no --yes and no terminal: the run records step 0, then stops before the first delete
    res = run_cli("run", "--only", "cloud", "--serial", lab.serial, "--wait-seconds", "0", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 3 and "needs confirmation" in res.stderr
    lab.tenant.jamf[jamf_id].serial = "C02OTHERMAC1"  # the record now describes another Mac
    res = run_cli("resume", "--latest", "--yes", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and "changed since it was recorded" in errors(res)[0] and "C02OTHERMAC1" in errors(res)[0]
    assert jamf_id in lab.tenant.jamf and lab.tenant.deleted == []


def test_filter_ignoring_intune_still_deletes_only_the_macs_records(make_lab, state_dir):
    lab = make_lab("intune-duplicates")
    lab.server.faults.ignore_managed_filter = True
    mine = set(lab.of_serial()["intune"])
    others = set(lab.tenant.intune) - mine
    assert len(mine) == 3 and others
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert {i for s, i in lab.deleted() if s == "intune"} == mine
    assert others <= set(lab.tenant.intune)


def test_entra_name_with_a_quote_is_escaped_and_matched_exactly(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    t.add_jamf_computer("C02QUOTE0001", "Bob's MacBook")
    target = t.add_entra_device("Bob's MacBook")
    t.add_entra_device("Bob's MacBook Pro")
    # found by name only: planned on the operator's explicit pick alone (issue 9)
    res = run_cli("plan", "--only", "cloud", "--serial", "C02QUOTE0001", "--entra-device", target.id, "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    steps = {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}
    assert [c["details"]["id"] for c in steps["delete-entra-device"]["changes"]] == [target.id]
    assert any("computer name" in n for n in steps["delete-entra-device"]["notes"])


def test_two_entra_devices_found_only_by_name_are_ambiguous(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    t.add_jamf_computer("C02TWINS0001", "MBP-TWIN")
    a, b = t.add_entra_device("MBP-TWIN"), t.add_entra_device("mbp-twin")
    res = run_cli("run", "--only", "cloud", "--serial", "C02TWINS0001", *CLOUD_ONLY, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and a.id in res.stderr and b.id in res.stderr and "--entra-device" in res.stderr
    assert lab.tenant.deleted == []


def test_a_stale_entra_device_with_the_macs_name_is_kept_and_reported(make_lab, state_dir):
    lab = make_lab("stale-entra")
    name = lab.info["computer_name"]
    res = run_cli("plan", "--host", f"sim:{lab.mac}", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    steps = {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}
    planned = {c["details"]["id"] for c in steps["delete-entra-device"]["changes"]}
    same_name = {d.id for d in lab.tenant.entra.values() if d.display_name == name}
    stale = same_name - planned
    assert len(planned) == 1 and len(stale) == 1
    assert any(stale.pop() in n and "kept" in n for n in steps["delete-entra-device"]["notes"])


def test_non_mac_records_with_the_serial_are_never_deleted(make_lab, state_dir):
    lab = make_lab("clean")
    pc = lab.tenant.add_intune_device(lab.serial, "PC-WITH-SAME-SERIAL", operating_system="Windows")
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert pc.id in lab.tenant.intune and ("intune", pc.id) not in lab.deleted()
