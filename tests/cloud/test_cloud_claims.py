"""Issue 9, cloud side: an Entra device is deleted as this Mac's only when it is this Mac's. A name alone never
deletes; a device another serial's Jamf Pro or Intune record claims is never deleted; an old Jamf record left
behind is never called verified; and a `$batch` delete whose answer was lost is accounted for exactly once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cleanup.lab.tenant import Faults
from cleanup.lab.tenant.model import new_guid
from cleanup.lab.tenant.scenarios import _local_users
from tests.support.lab import audit_events, drive_cli, run_cli

CLOUD_ONLY = ("--yes", "--wait-seconds", "0", "--to", "delete-intune-records")
OTHER = "C02OTHERX123"


def errors(res) -> list[str]:
    return [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]


def plan_steps(res) -> dict:
    return {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}


def other_mac(t, name: str, device_id: str, jamf: bool = True, intune: bool = True) -> dict:
    """Another Mac, registered with ``device_id``: its Entra device, and its own Jamf / Intune records claiming it."""
    upn = "bob@contoso.example"
    return t.add_mac(OTHER, name, upn, device_id=device_id, jamf=jamf, intune=intune, local_users=_local_users(upn, device_id))


# -- defect 1: a name match alone never deletes ------------------------------------------------------------------


@pytest.mark.slow
def test_an_entra_device_found_only_by_name_is_reported_and_kept(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    t.add_jamf_computer("C02NAMEONLY1", "MacBook Pro")  # Jamf reports no deviceId; no Intune record
    device = t.add_entra_device("MacBook Pro")  # nobody's: only the name links it
    plan = run_cli("plan", "--only", "cloud", "--serial", "C02NAMEONLY1", "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 0, plan.stderr
    step = plan_steps(plan)["delete-entra-device"]
    assert step["changes"] == []
    assert any(device.id in n and f"--entra-device {device.id}" in n for n in step["notes"])
    # the operator's explicit choice plans it
    plan = run_cli("plan", "--only", "cloud", "--serial", "C02NAMEONLY1", "--entra-device", device.id, "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 0, plan.stderr
    assert [c["details"]["id"] for c in plan_steps(plan)["delete-entra-device"]["changes"]] == [device.id]
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", "C02NAMEONLY1", *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert device.id in t.entra and ("entra", device.id) not in lab.deleted()


def test_a_device_found_by_name_that_another_macs_intune_record_claims_is_refused_even_when_chosen(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    t.add_jamf_computer("C02NAMEONLY1", "MacBook Pro")
    bob = other_mac(t, "MacBook Pro", new_guid(), jamf=False)  # linked from that Mac's own Intune record
    res = run_cli("run", "--only", "cloud", "--serial", "C02NAMEONLY1", "--entra-device", bob["entra"].id, *CLOUD_ONLY, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and len(errors(res)) == 1, res.stderr
    assert OTHER in errors(res)[0] and bob["intune"].id in errors(res)[0]
    assert lab.tenant.deleted == []
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", "C02NAMEONLY1", *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert bob["entra"].id in t.entra and ("entra", bob["entra"].id) not in lab.deleted()


# -- defect 2: a device another serial claims is never deleted as this Mac's -------------------------------------


@pytest.mark.slow
def test_a_workplace_join_certificate_carrying_another_macs_device_id_refuses_the_mac(make_lab, state_dir):
    # the Mac's keychains hold two Workplace Join certificates: alice's, and one carrying another Mac's
    # current deviceId (the "bob" one), which that Mac's Jamf Pro and Intune records claim
    lab = make_lab("clean", users=("alice", "bob"))
    t = lab.tenant
    bob = other_mac(t, "MBP-BOB", lab.info["device_ids"]["bob"])
    before = lab.records()
    plan = run_cli("plan", "--host", f"sim:{lab.mac}", "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 4, plan.stderr
    assert OTHER in plan.stdout + plan.stderr and bob["entra"].id in plan.stdout + plan.stderr
    res = run_cli("run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and len(errors(res)) == 1, res.stderr
    assert OTHER in errors(res)[0] and lab.info["device_ids"]["bob"] in errors(res)[0]
    assert lab.tenant.deleted == [] and lab.records() == before


@pytest.mark.slow
def test_a_stale_intune_record_pointing_at_another_macs_device_keeps_that_device(make_lab, state_dir):
    lab = make_lab("clean")
    t = lab.tenant
    [bob_intune] = t.intune_by_serial("C02YX2BCJG5H")  # MBP-BOB's current registration
    bob_device = t.entra_by_device_id(bob_intune.aad_device_id)
    stale = t.add_intune_device(lab.serial, lab.info["computer_name"], bob_intune.aad_device_id, last_sync=0)
    own = t.entra_by_device_id(lab.identity.device_ids[0])
    plan = run_cli("plan", "--only", "cloud", "--serial", lab.serial, "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 0, plan.stderr
    step = plan_steps(plan)["delete-entra-device"]
    assert bob_device.id not in {c["details"]["id"] for c in step["changes"]}
    assert any(bob_device.id in n and "C02YX2BCJG5H" in n and bob_intune.id in n for n in step["notes"])
    res, outs = drive_cli(["run", "--only", "cloud", "--serial", lab.serial, *CLOUD_ONLY], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert bob_device.id in t.entra and ("entra", bob_device.id) not in lab.deleted()
    assert ("intune", stale.id) in lab.deleted()  # the record of this serial goes; the device it names stays
    assert ("entra", own.id) in lab.deleted() and lab.of_serial()["intune"] == []


# -- defect 3: an old Jamf record left behind is not "verified" --------------------------------------------------


@pytest.mark.slow
def test_a_jamf_record_not_chosen_is_named_in_the_plan_and_keeps_the_mac_unverified(make_lab, state_dir):
    lab = make_lab("two-jamf-records")
    ids = sorted(lab.of_serial()["jamf"], key=lambda i: lab.tenant.jamf[i].last_contact)
    pick, left = ids[1], ids[0]  # the operator deletes one record; the other stays
    plan = run_cli("plan", "--host", f"sim:{lab.mac}", "--jamf-record", pick, "--json", env=lab.env(), state_dir=state_dir)
    assert plan.returncode == 0, plan.stderr
    step = plan_steps(plan)["delete-jamf-record"]
    assert [c["details"]["id"] for c in step["changes"]] == [pick]
    assert any(f"Jamf Pro computer {left}" in n and "left behind" in n for n in step["notes"])
    res, outs = drive_cli(
        ["run", "--host", f"sim:{lab.mac}", "--jamf-record", pick, "--yes", "--wait-seconds", "0", "--no-wait"], lab.env(), state_dir, resume_args=["--no-wait"]
    )
    assert res.returncode == 3, [o.stderr for o in outs]
    assert "verified" not in res.stdout and f"Jamf Pro record {left}" in res.stderr and "still there" in res.stderr
    assert left in lab.tenant.jamf and ("jamf", pick) in lab.deleted()
    res = run_cli("verify", "--latest", "--json", env=lab.env(), state_dir=state_dir)
    out = json.loads(res.stdout)["data"]
    assert res.returncode == 3 and out["verified"] is False and any(left in m for m in out["missing"])


# -- defect 4: a `$batch` delete whose answer was lost ------------------------------------------------------------


@pytest.mark.slow
def test_a_batch_delete_cut_off_mid_way_accounts_each_record_once_as_deleted_by_the_run(make_lab, state_dir):
    # one Entra device (a single DELETE) and three Intune records (one `$batch`): Intune takes one write, throttles
    # the other two, and the POST that re-sends them is dropped unanswered, every time
    lab = make_lab("empty", faults=Faults(intune_write_limit=1, intune_window=0.5))
    t = lab.tenant
    serial, did = "C02BATCHCUT1", new_guid()
    t.add_mac(serial, "MBP-CUT", "cut@contoso.example", device_id=did, local_users=_local_users("cut@contoso.example", did))
    for _ in range(2):
        t.add_intune_device(serial, "MBP-CUT", did, last_sync=0)
    records = sorted(d.id for d in t.intune_by_serial(serial))
    lab.server.faults.drop_batch_deletes_after = 1
    res = run_cli("run", "--only", "cloud", "--serial", serial, *CLOUD_ONLY, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 1 and len(errors(res)) == 1, res.stderr
    first = [i for s, i in lab.deleted() if s == "intune"]
    assert len(first) == 1
    events = [e for e in audit_events(state_dir) if e.get("kind") == "delete-intune-record"]
    results = {e["key"]: e for e in events if e["event"] == "result"}
    assert results == {f"intune:{first[0]}": results[f"intune:{first[0]}"]} and results[f"intune:{first[0]}"]["result"] == "deleted"
    lab.server.faults.drop_batch_deletes_after = None
    res, outs = drive_cli(["resume", "--latest"], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    assert sorted(i for s, i in lab.deleted() if s == "intune") == records
    results = [e for e in audit_events(state_dir) if e["event"] == "result" and e["kind"] == "delete-intune-record"]
    effective = Counter(e["key"] for e in results if e["changed"])
    assert sorted(effective) == [f"intune:{i}" for i in records] and set(effective.values()) == {1}


def test_a_batch_delete_resent_after_its_answer_was_lost_counts_as_deleted_by_the_run(make_lab, state_dir):
    # the service deletes all three Intune records, the answer is lost, the HTTP layer sends the POST again and
    # gets 404s: those are this run's deletions, not objects that were "already gone"
    lab = make_lab("empty")
    t = lab.tenant
    serial, did = "C02BATCHLOST", new_guid()
    t.add_mac(serial, "MBP-LOST", "lost@contoso.example", device_id=did, local_users=_local_users("lost@contoso.example", did))
    for _ in range(2):
        t.add_intune_device(serial, "MBP-LOST", did, last_sync=0)
    records = sorted(d.id for d in t.intune_by_serial(serial))
    lab.server.faults.lose_delete_batch_answers = 1
    res = run_cli("run", "--only", "cloud", "--serial", serial, *CLOUD_ONLY, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert sorted(i for s, i in lab.deleted() if s == "intune") == records
    results = [e for e in audit_events(state_dir) if e["event"] == "result" and e["kind"] == "delete-intune-record"]
    assert sorted(e["key"] for e in results if e["changed"]) == [f"intune:{i}" for i in records]
    assert not any(e["result"].startswith("already") for e in results)
