"""playbooks/duplicates.toml: keep the current registration, delete the stale records, never the last one."""

from __future__ import annotations

import json

from tests.support.lab import run_cli

RUN = ("run", "--playbook", "duplicates", "--only", "cloud", "--yes")


def test_keeps_the_record_jamf_reports_and_deletes_the_stale_ones(make_lab, state_dir):
    lab = make_lab("intune-duplicates")
    t = lab.tenant
    jamf = t.jamf[lab.of_serial()["jamf"][0]]
    current = {u["computerAzureActiveDirectoryId"] for u in jamf.local_users}
    mine = [t.intune[i] for i in lab.of_serial()["intune"]]
    keep = [d for d in mine if d.aad_device_id in current]
    assert len(mine) == 3 and len(keep) == 1
    stale_dids = {d.aad_device_id for d in mine if d is not keep[0]}
    stale_entra = {d.id for d in t.entra.values() if d.device_id in stale_dids}
    # make the stale ones sync more recently: "most recent" must not beat "the one Jamf reports"
    for d in mine:
        if d is not keep[0]:
            d.last_sync = keep[0].last_sync + 3600
    before = lab.records()
    res = run_cli(*RUN, "--serial", lab.serial, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert set(lab.deleted()) == {("intune", d.id) for d in mine if d is not keep[0]} | {("entra", i) for i in stale_entra}
    assert keep[0].id in t.intune and any(d.device_id in current for d in t.entra.values())
    assert set(lab.records()["jamf"]) == set(before["jamf"])


def test_without_a_reported_device_id_the_most_recent_sync_is_kept(make_lab, state_dir):
    lab = make_lab("intune-duplicates")
    t = lab.tenant
    for c in t.jamf.values():
        c.local_users = []
    mine = sorted((t.intune[i] for i in lab.of_serial()["intune"]), key=lambda d: d.last_sync)
    res = run_cli(*RUN, "--serial", lab.serial, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert mine[-1].id in t.intune and all(d.id not in t.intune for d in mine[:-1])


def test_a_single_record_is_never_deleted_and_non_macs_are_left_alone(make_lab, state_dir):
    lab = make_lab("clean")
    pc = lab.tenant.add_intune_device(lab.serial, "SAME-SERIAL-PC", operating_system="Windows", last_sync=9e9)
    plan = run_cli("plan", "--playbook", "duplicates", "--only", "cloud", "--serial", lab.serial, "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["data"]["total_changes"] == 0
    res = run_cli(*RUN, "--serial", lab.serial, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0 and lab.tenant.deleted == [] and pc.id in lab.tenant.intune
