"""Issue 12, point 4: the `duplicates` playbook and batch rule on 2026 tenants (Device Compliance, Platform SSO),
where a Mac has several Entra devices and maybe no Intune record. The device the Mac reports now is kept; a name
alone never deletes; a device linked to another serial, or that is not a Mac, is never the Mac's."""

from __future__ import annotations

import json

from tests.support.dcroles import _dc_duplicates, _errors
from tests.support.envelope import batch_result
from tests.support.lab import run_cli

RUN = ("run", "--playbook", "duplicates", "--only", "cloud")


def _steps(res) -> dict:
    return {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}


def test_dry_run_keeps_the_device_jamf_reports_and_names_each_old_one_with_its_option(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    roles = _dc_duplicates(lab)
    assert len(roles["old"]) == 2 and {d.operating_system for d in roles["old"]} == {"MacMDM", "macOS"} and len(roles["theirs"]) == 2
    before = lab.records()
    res = run_cli(*RUN, "--serial", lab.serial, "--dry-run", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    step = _steps(res)["delete-stale-entra"]
    assert step["changes"] == []  # the old ones are linked by name only
    notes = step["notes"]
    assert any(n.startswith(f"kept Entra device {roles['current'].id}") and "Jamf Pro records" in n for n in notes)
    for old in roles["old"]:
        assert any(old.id in n and f"--entra-device {old.id}" in n for n in notes), old
    assert not any(roles["pc"].id in n for n in notes)  # a Windows PC with the Mac's name is no candidate
    assert lab.records() == before and lab.tenant.deleted == []


def test_a_pick_plans_the_old_device_and_a_pick_of_another_serials_device_is_refused(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    roles = _dc_duplicates(lab)
    old = roles["old"][0]
    res = run_cli(*RUN, "--serial", lab.serial, "--dry-run", "--json", "--entra-device", old.id, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert [c["details"]["id"] for c in _steps(res)["delete-stale-entra"]["changes"]] == [old.id]
    for theirs in roles["theirs"]:  # the loaner's device (its Jamf Pro record reports it) and the one an Intune record claims
        res = run_cli(*RUN, "--serial", lab.serial, "--dry-run", "--entra-device", theirs.id, env=lab.env(), state_dir=state_dir)
        assert res.returncode == 4 and len(_errors(res)) == 1 and "another Mac's" in _errors(res)[0], res.stderr
    assert lab.tenant.deleted == []


def test_a_real_run_deletes_nothing_found_by_name_alone(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    before = lab.records()
    res = run_cli(*RUN, "--serial", lab.serial, "--yes", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert lab.tenant.deleted == [] and lab.records() == before


def test_platform_sso_with_jamf_behind_refuses_then_the_operator_picks_the_old_device(make_lab, state_dir):
    lab = make_lab("platform-sso")
    t = lab.tenant
    with t.lock:
        [jamf] = t.jamf_by_serial(lab.serial)
        psso = next(d for d in t.entra.values() if d.display_name == lab.identity.name and d.trust_type == "AzureAd")
        old = next(d for d in t.entra.values() if d.display_name == lab.identity.name and d.trust_type == "Workplace")
        # Jamf Pro's inventory still reports the Workplace registration from before Platform SSO (before 11.9 it
        # had to be fixed by hand); its device-compliance information already names the PSSO device
        jamf.local_users[0]["computerAzureActiveDirectoryId"] = old.device_id
    res = run_cli(*RUN, "--serial", lab.serial, "--yes", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and len(_errors(res)) == 1, res.stderr
    assert psso.id in _errors(res)[0] and old.id in _errors(res)[0] and "--entra-device" in res.stderr
    assert t.deleted == []
    res = run_cli(*RUN, "--serial", lab.serial, "--yes", "--entra-device", old.id, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert lab.deleted() == [("entra", old.id)] and psso.id in t.entra


def test_batch_select_flags_the_mac_with_several_entra_devices_and_none_of_the_traps(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    roles = _dc_duplicates(lab)
    res = run_cli("batch", "select", "--rule", "duplicates", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    rows = {r["serial"]: r for r in json.loads(res.stdout)["data"]["macs"]}
    assert list(rows) == [lab.serial]  # not the loaner, not the serial whose Intune record names a device of the Mac's name
    row = rows[lab.serial]
    assert row["reasons"] == ["3 Entra devices for the Mac (1 by deviceId, 2 by name)"]
    tied = {e["id"]: e["tied_by"] for e in row["evidence"]["entra"]}
    assert set(tied) == {roles["current"].id} | {d.id for d in roles["old"]}
    assert "deviceId" in tied[roles["current"].id] and all("displayName" in tied[d.id] for d in roles["old"])


def test_batch_dry_run_plans_nothing_to_delete_for_a_mac_tied_by_name_only(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    res = run_cli("batch", "run", "--rule", "duplicates", "--playbook", "duplicates", "--dry-run", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    out = batch_result(res.stdout)
    assert out["total_deletions"] == 0 and lab.tenant.deleted == []


def test_legacy_leftovers_keep_the_current_device_and_the_last_intune_record(make_lab, state_dir):
    lab = make_lab("legacy-leftovers")
    t = lab.tenant
    with t.lock:
        [jamf] = t.jamf_by_serial(lab.serial)
        current = t.entra_by_device_id(jamf.local_users[0]["computerAzureActiveDirectoryId"])
        records = sorted(t.intune_by_serial(lab.serial), key=lambda r: r.last_sync)
        kept_device = t.entra_by_device_id(records[-1].aad_device_id)
    assert current is not None and kept_device is not None and len(records) == 2
    res = run_cli(*RUN, "--serial", lab.serial, "--yes", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    # the older leftover goes; the one that synced last is the Mac's last Intune record, so it and its device stay
    assert lab.deleted() == [("intune", records[0].id)]
    assert {current.id, kept_device.id} <= set(t.entra) and records[-1].id in t.intune


def test_batch_select_reads_a_fleet_in_the_same_few_paged_requests_whatever_its_size(make_lab, state_dir):
    from cleanup.lab.tenant.fleet import add_duplicated_macs

    counts = []
    for n, name in ((10, "small"), (120, "large")):
        lab = make_lab("empty", name=name)
        add_duplicated_macs(lab.tenant, n)
        lab.server.reset_stats()
        res = run_cli("batch", "select", "--rule", "duplicates", "--json", env=lab.env(), state_dir=state_dir)
        assert res.returncode == 0, res.stderr
        assert len(json.loads(res.stdout)["data"]["macs"]) == n
        counts.append(lab.server.stats()["by_route"])
    assert counts[0] == counts[1]  # no request per Mac: paged listings only
    assert counts[1]["GET /v1.0/devices"] == 4  # one listing per Mac operatingSystem, a page each here


def test_a_real_run_deletes_the_old_device_the_operator_picked_though_it_is_linked_by_name_only(make_lab, state_dir):
    # step 0 of a real run looks the Mac's name up too when Entra devices were picked: the stale devices a Device
    # Compliance or Platform SSO Mac leaves behind are often tied to it by its name alone
    lab = make_lab("device-compliance-duplicates")
    roles = _dc_duplicates(lab)
    old = roles["old"][0]
    res = run_cli(*RUN, "--serial", lab.serial, "--yes", "--entra-device", old.id, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert lab.deleted() == [("entra", old.id)]
    assert roles["current"].id in lab.tenant.entra and all(d.id in lab.tenant.entra for d in roles["old"][1:] + roles["theirs"] + [roles["pc"]])
