"""Issue 9, `duplicates` batches: a Mac whose Jamf Pro records disagree on its Entra deviceId is refused, and a
stale record that points at another Mac's current Entra device never gets that device deleted."""

from __future__ import annotations

from cleanup.lab.tenant.fleet import add_duplicated_macs
from cleanup.lab.tenant.scenarios import _local_users
from tests.support.envelope import batch_result
from tests.support.lab import run_cli

RUN = ("batch", "run", "--playbook", "duplicates", "--rule", "duplicates", "--yes", "--max-deletions", "500", "--json")


def current_device_id(t, serial: str) -> str:
    [jamf] = t.jamf_by_serial(serial)
    return jamf.local_users[0]["computerAzureActiveDirectoryId"]


def test_two_jamf_records_reporting_different_device_ids_refuse_the_mac(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    serials = add_duplicated_macs(t, 3)
    sn = serials[0]
    current = current_device_id(t, sn)
    stale = next(d for d in t.intune_by_serial(sn) if d.aad_device_id != current)
    stale.last_sync = max(d.last_sync for d in t.intune_by_serial(sn)) + 60  # "synced last" must not decide
    second = t.add_jamf_computer(sn, f"MAC-DUP-{sn}", local_users=_local_users("user1@contoso.example", stale.aad_device_id))
    mine = {d.id for d in t.intune_by_serial(sn)} | {e.id for d in t.intune_by_serial(sn) for e in [t.entra_by_device_id(d.aad_device_id)] if e}
    res = run_cli(*RUN, env=lab.env(), state_dir=state_dir, timeout=600)
    out = batch_result(res.stdout)
    by = {m["serial"]: m for m in out["macs"]}
    assert by[sn]["state"] == "refused", by[sn]
    assert second.id in by[sn]["outcome"] and current in by[sn]["outcome"] and stale.aad_device_id in by[sn]["outcome"]
    assert not mine & {i for _, i in lab.deleted()}  # nothing of that Mac deleted
    assert all(by[s]["state"] == "done" for s in serials[1:])


def test_a_stale_record_pointing_at_another_macs_current_device_keeps_that_device(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    serials = add_duplicated_macs(t, 3)
    theirs = current_device_id(t, serials[2])
    their_device = t.entra_by_device_id(theirs)
    stale = t.add_intune_device(serials[1], f"MAC-DUP-{2}", theirs, last_sync=0)  # the stale record of serials[1]
    res = run_cli(*RUN, env=lab.env(), state_dir=state_dir, timeout=600)
    out = batch_result(res.stdout)
    assert res.returncode == 0, [(m["state"], m["outcome"]) for m in out["macs"]]
    assert {m["state"] for m in out["macs"]} == {"done"}
    assert their_device.id in t.entra and ("entra", their_device.id) not in lab.deleted()
    assert ("intune", stale.id) in lab.deleted()  # serials[1]'s own stale record still goes
    [kept] = [d for d in t.intune_by_serial(serials[2])]
    assert kept.aad_device_id == theirs
