"""The whole Cause 6 reset — device and cloud — through the real CLI, over HTTPS against the emulated tenant."""

from __future__ import annotations

import json

import pytest

from tests.support.lab import audit_events, drive_cli, lab_state, run_cli


@pytest.mark.slow
def test_full_reset_deletes_exactly_the_macs_records_and_verifies_the_new_registration(make_lab, state_dir, store):
    lab = make_lab("intune-duplicates")
    before = lab.records()
    old = lab.of_serial()
    assert len(old["intune"]) == 3 and len(old["jamf"]) == 1
    res, outs = drive_cli(["run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0"], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    run, _ = store.load(store.latest())
    assert run.status == "done"
    cloud = run.facts["cloud"]
    # deleted: exactly what step 0 recorded, each once
    recorded = {("jamf", r["id"]) for r in cloud["jamf"]} | {("entra", r["id"]) for r in cloud["entra"]} | {("intune", r["id"]) for r in cloud["intune"]}
    deleted = [d for d in lab.deleted()]
    assert sorted(deleted) == sorted(recorded) and len(deleted) == len(set(deleted))
    # unrelated objects untouched
    after = lab.records()
    for service in ("jamf", "entra", "intune"):
        untouched = set(before[service]) - {i for s, i in recorded if s == service}
        assert untouched <= set(after[service])
    # the new registration: a new Jamf record, one Intune record managed by Jamf, its Entra device
    now = lab.of_serial()
    assert len(now["jamf"]) == 1 and now["jamf"] != old["jamf"]
    assert len(now["intune"]) == 1 and lab.tenant.intune[now["intune"][0]].management_agent == "jamf"
    verify = run.step("verify-registration")
    assert verify.state == "done" and verify.outcome.startswith("verified")
    # the Mac got a new Workplace Join certificate for the new Entra device
    new_did = lab.tenant.intune[now["intune"][0]].aad_device_id
    assert any(r["deviceId"] == new_did for r in lab_state(lab.mac)["registrations"])
    # audit: one intent and one result per cloud delete
    events = audit_events(state_dir)
    cloud_results = [e for e in events if e["event"] == "result" and e["kind"].startswith("delete-") and e["kind"] != "delete-keychain-item"]
    assert len(cloud_results) == len(recorded) and all(e["result"] == "deleted" for e in cloud_results)
    # `cleanup verify` checks again later
    res = run_cli("verify", "--latest", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["data"]["verified"] is True


def test_helpdesk_dry_run_with_read_only_credentials_shows_every_cloud_delete_and_changes_nothing(make_lab, state_dir):
    lab = make_lab("intune-duplicates")
    before = lab.records()
    res = run_cli("plan", "--host", f"sim:{lab.mac}", "--json", env=lab.env(graph="readonly", jamf="readonly"), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)["data"]
    steps = {s["id"]: s for s in plan["steps"]}
    assert len(steps["delete-jamf-record"]["changes"]) == 1
    assert len(steps["delete-entra-device"]["changes"]) >= 1
    assert len(steps["delete-intune-records"]["changes"]) == 3
    assert steps["cloud-preflight"]["status"] == "no-op"
    assert lab.records() == before and lab.tenant.deleted == []
    assert not (state_dir / "runs").exists() or not any((state_dir / "runs").iterdir())


def test_read_only_credentials_stop_a_real_run_before_anything_changes(make_lab, state_dir):
    lab = make_lab("clean")
    before = lab.records()
    from cleanup.lab.simmac.snapshot import tree_manifest

    tree = tree_manifest(lab.mac)
    res = run_cli("run", "--host", f"sim:{lab.mac}", "--yes", env=lab.env(graph="readonly", jamf="readonly"), state_dir=state_dir)
    assert res.returncode == 1
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Delete Computers" in lines[0] and "Device.ReadWrite.All" in lines[0]
    assert lab.records() == before and tree_manifest(lab.mac) == tree
    assert not (state_dir / "runs").exists() or not any((state_dir / "runs").iterdir())


def test_wrong_secret_fails_cleanly_before_any_change_and_never_shows_the_secret(make_lab, state_dir):
    lab = make_lab("clean")
    env = lab.env(CLEANUP_GRAPH_CLIENT_SECRET="Wr0ng-S3cret-XYZZY")
    before = lab.records()
    res = run_cli("run", "--host", f"sim:{lab.mac}", "--yes", env=env, state_dir=state_dir)
    assert res.returncode == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "AADSTS7000215" in errors[0]
    assert "XYZZY" not in res.stdout + res.stderr
    assert lab.records() == before


def test_only_the_macs_objects_go_when_names_look_alike(make_lab, state_dir):
    lab = make_lab("look-alikes")
    t = lab.tenant
    alike = [
        d.id
        for d in t.entra.values()
        if d.display_name.casefold() != lab.info["computer_name"].casefold() and lab.info["computer_name"].casefold() in d.display_name.casefold()
    ]
    assert alike
    res, outs = drive_cli(
        ["run", "--only", "cloud", "--serial", lab.serial, "--yes", "--wait-seconds", "0", "--to", "delete-intune-records"], lab.env(), state_dir
    )
    assert res.returncode == 0, [o.stderr for o in outs]
    deleted = {i for _, i in lab.deleted()}
    assert not deleted & set(alike)
    assert all(t.entra[i] for i in alike)
