"""`cleanup restore RUN [--entra]`: the run's deleted Entra devices come back where the tenant keeps them
soft-deleted; only those this run deleted, by the recorded object id and deviceId; ambiguity refused; a dry-run
changes nothing; one line per object that cannot be restored and a non-zero exit."""

from __future__ import annotations

import json

from tests.support.lab import one_error, run_cli
from tests.support.restorelab import cloud_run, run_dir


def _deleted_entra(lab) -> list[str]:
    return sorted(i for s, i in lab.deleted() if s == "entra")


def test_restore_brings_back_exactly_the_runs_deleted_devices_after_a_dry_run_that_changes_nothing(make_lab, state_dir, store):
    lab = make_lab("intune-duplicates")
    assert cloud_run(lab, state_dir).returncode == 3
    mine = _deleted_entra(lab)
    assert len(mine) == 3
    stranger = lab.tenant.add_entra_device("SOMEONE-ELSE")  # soft-deleted too, but not by this run
    lab.tenant.delete_entra(stranger.id)
    device_ids = {lab.tenant.directory.deleted_devices[i][1].device_id for i in mine}

    dry = run_cli("restore", store.latest(), "--entra", "--dry-run", "--json", env=lab.env(), state_dir=state_dir)
    assert dry.returncode == 0, dry.stderr
    items = json.loads(dry.stdout)["data"]["items"]
    assert sorted(i["id"] for i in items) == mine and {i["state"] for i in items} == {"would-restore"}
    assert sorted(lab.tenant.directory.deleted_devices) == sorted([*mine, stranger.id])  # nothing changed

    res = run_cli("restore", store.latest(), "--entra", "--yes", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("restored: Entra device") == 3
    back = {oid: lab.tenant.entra[oid].device_id for oid in mine}
    assert set(back.values()) == device_ids  # the same objects: the recorded object ids and deviceIds
    assert list(lab.tenant.directory.deleted_devices) == [stranger.id]
    audit = [json.loads(line) for line in (run_dir(store) / "audit.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in audit if r["event"] == "restore" and r["result"] == "restored") == mine
    again = run_cli("restore", "--latest", "--entra", "--yes", env=lab.env(), state_dir=state_dir)
    assert again.returncode == 0 and again.stdout.count("already-restored") == 3


def test_what_cannot_be_restored_is_one_line_each_and_a_failure(make_lab, state_dir, store):
    lab = make_lab("clean")
    lab.tenant.directory.keeps_deleted_devices = False  # a tenant without device soft delete
    assert cloud_run(lab, state_dir).returncode == 3
    res = run_cli("restore", store.latest(), "--yes", env=lab.env(), state_dir=state_dir)
    assert "3 of 3 deleted object(s) cannot be restored" in one_error(res, 1)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("  not-restorable:")]
    assert len(lines) == 3
    assert any("Jamf Pro has no undelete" in ln and "exports/jamf-" in ln for ln in lines)
    assert any("Intune has no undelete" in ln for ln in lines)
    assert any("the tenant keeps no soft-deleted devices" in ln for ln in lines)


def test_an_ambiguous_deleted_device_is_refused_and_nothing_is_restored(make_lab, state_dir, store):
    lab = make_lab("clean")
    assert cloud_run(lab, state_dir).returncode == 3
    [oid] = _deleted_entra(lab)
    at, rec = lab.tenant.directory.deleted_devices[oid]
    twin = lab.tenant.add_entra_device("MBP-TWIN")
    lab.tenant.entra.pop(twin.id)
    twin.device_id = rec.device_id  # another deleted object with the recorded deviceId
    lab.tenant.directory.deleted_devices[twin.id] = (at, twin)
    res = run_cli("restore", store.latest(), "--entra", "--yes", env=lab.env(), state_dir=state_dir)
    assert "refused for safety" in one_error(res, 4)
    assert "refused: Entra device" in res.stdout and twin.id in res.stdout
    assert oid not in lab.tenant.entra and sorted(lab.tenant.directory.deleted_devices) == sorted([oid, twin.id])


def test_without_the_role_restore_fails_naming_the_roles_and_asks_before_it_changes_anything(make_lab, state_dir, store):
    lab = make_lab("clean")
    assert cloud_run(lab, state_dir).returncode == 3
    [oid] = _deleted_entra(lab)
    res = run_cli("restore", store.latest(), "--entra", env=lab.env(), state_dir=state_dir)  # no terminal, no --yes
    assert "--yes" in one_error(res, 2) and oid not in lab.tenant.entra
    lab.tenant.directory.app_directory_roles["full"] = set()
    res = run_cli("restore", store.latest(), "--entra", "--yes", env=lab.env(), state_dir=state_dir)
    one_error(res, 1)
    assert "failed:" in res.stdout and "Cloud Device Administrator" in res.stdout and oid not in lab.tenant.entra
    bad = run_cli("restore", "NOT-A-RUN", "--entra", env=lab.env(), state_dir=state_dir)
    assert "not a run id" in one_error(bad, 2)
