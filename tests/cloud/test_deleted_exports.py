"""What a cloud delete destroys is saved first: each object, whole and without secrets, in the run's folder (0600),
never through a link or over a file; no export, no delete; `cleanup show RUN --deleted` lists them."""

from __future__ import annotations

import json
import os
import stat

import pytest

from cleanup.engine.exports import write_export
from cleanup.errors import SafetyRefusal
from cleanup.lab.tenant import inventory
from tests.support.lab import one_error, run_cli
from tests.support.restorelab import cloud_run, exports, run_dir


def test_every_cloud_delete_is_exported_whole_before_it_happens_and_show_lists_them(make_lab, state_dir, store):
    lab = make_lab("intune-duplicates")
    res = cloud_run(lab, state_dir)
    assert res.returncode == 3, res.stderr  # deleted, then waiting for the re-enrolled Mac
    deleted = sorted(lab.deleted())
    assert len(deleted) == 7  # 1 Jamf Pro record, 3 Entra devices, 3 Intune records
    folder = run_dir(store) / "exports"
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    docs = exports(store)
    assert sorted((d["service"], d["id"]) for d in docs) == deleted
    for d in docs:
        assert stat.S_IMODE(os.lstat(folder / d["name"]).st_mode) == 0o600
        assert d["object"]["id"] == d["id"] and d["run_id"] == store.latest()
    [jamf] = [d for d in docs if d["service"] == "jamf"]
    # the whole record: every inventory section, as Jamf Pro's detail endpoint returned it
    assert jamf["source"] == f"GET /api/v1/computers-inventory-detail/{jamf['id']}"
    assert set(inventory.SECTION_KEYS.values()) <= set(jamf["object"])
    assert {g["groupName"] for g in jamf["object"]["groupMemberships"]} == {"All Managed Clients", "Intune Registered Macs", "Design Team Macs"}
    entra = [d for d in docs if d["service"] == "entra"]
    assert all(d["object"]["trustType"] == "Workplace" and d["object"]["deviceId"] for d in entra)

    res = run_cli("show", store.latest(), "--deleted", "--json", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert sorted((d["service"], d["id"]) for d in data["deleted"]) == deleted
    assert all(len(d["exports"]) == 1 and d["exports"][0]["object"]["id"] == d["id"] for d in data["deleted"])
    text = run_cli("show", "--latest", "--deleted", state_dir=state_dir).stdout
    assert "7 cloud object(s) deleted" in text and f"exports/jamf-{jamf['id']}.json" in text


def test_secrets_a_record_carries_are_left_out_of_its_export(make_lab, state_dir, store, monkeypatch):
    lab = make_lab("clean")
    render = inventory.render

    def with_secrets(tenant, c, sections):
        out = render(tenant, c, sections)
        if out.get("general"):
            out["general"]["remoteManagement"]["managementPassword"] = "hunter2-mgmt"
            out["general"]["extensionAttributes"] = [
                {"definitionId": "7", "name": "LAPS Password", "values": ["hunter2-laps"], "dataType": "STRING"},
                {"definitionId": "8", "name": "Department", "values": ["Design"], "dataType": "STRING"},
            ]
        if out.get("purchasing") is not None:
            out["purchasing"] = {"appleCareId": "AC-1", "lifeExpectancy": 4, "vendorPortalPassword": "hunter2-vendor"}
        return out

    monkeypatch.setattr(inventory, "render", with_secrets)  # the emulator runs in this process
    assert cloud_run(lab, state_dir).returncode == 3
    [jamf] = [d for d in exports(store) if d["service"] == "jamf"]
    text = (run_dir(store) / "exports" / jamf["name"]).read_text()
    assert "hunter2" not in text
    assert sorted(jamf["stripped"]) == sorted(
        ["general.remoteManagement.managementPassword", "general.extensionAttributes[0].values", "purchasing.vendorPortalPassword"]
    )
    obj = jamf["object"]
    assert obj["general"]["extensionAttributes"][1]["values"] == ["Design"]  # what is not a secret stays
    assert obj["purchasing"]["appleCareId"] == "AC-1" and obj["general"]["remoteManagement"]["managementUsername"] == "jamfadmin"


def test_an_export_never_follows_a_link_nor_replaces_a_file(tmp_path):
    run = tmp_path / "run"
    (run / "exports").mkdir(parents=True, mode=0o700)
    outside = tmp_path / "outside.json"
    outside.write_text("not yours")
    (run / "exports" / "jamf-12.json").symlink_to(outside)
    (run / "exports" / "jamf-12.2.json").write_text("an earlier export")
    path = write_export(run, "jamf", "12", {"schema": 1, "service": "jamf", "id": "12", "object": {"id": "12"}})
    assert path.name == "jamf-12.3.json" and json.loads(path.read_text())["object"] == {"id": "12"}
    assert outside.read_text() == "not yours" and (run / "exports" / "jamf-12.2.json").read_text() == "an earlier export"
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert sorted(p.name for p in (run / "exports").iterdir()) == ["jamf-12.2.json", "jamf-12.3.json", "jamf-12.json"]  # no temp file left
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "exports").symlink_to(tmp_path)
    with pytest.raises(SafetyRefusal):
        write_export(linked, "entra", "0f075ac9-d058-43a8-9ec1-d2771aca7f88", {"schema": 1})


def test_no_export_means_no_delete(make_lab, state_dir, store):
    lab = make_lab("clean")
    before = lab.records()
    # without --yes and without a terminal, the run pauses before its first destructive step
    res = run_cli("run", "--only", "cloud", "--serial", lab.serial, "--wait-seconds", "0", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 3 and lab.records() == before
    elsewhere = state_dir.parent / "elsewhere"
    elsewhere.mkdir()
    (run_dir(store) / "exports").symlink_to(elsewhere)  # a link where the exports go
    res = run_cli("resume", "--latest", "--yes", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert "not a folder" in one_error(res, 4)
    assert lab.records() == before and lab.deleted() == [] and list(elsewhere.iterdir()) == []
