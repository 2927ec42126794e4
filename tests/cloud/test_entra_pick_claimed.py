"""The Cause 6 reset, like the duplicates playbook, never deletes an Entra device that another Mac's Jamf Pro record
reports, even when the operator picks it: on a Device Compliance tenant no Intune record links that device to its
serial, so only Jamf Pro's inventory shows whose it is."""

from __future__ import annotations

from tests.support.dcroles import _dc_duplicates, _errors
from tests.support.lab import run_cli

RESET = ("run", "--only", "cloud", "--to", "delete-entra-device", "--yes")


def test_a_picked_device_another_serials_jamf_record_reports_is_refused_by_the_reset(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    roles = _dc_duplicates(lab)
    t = lab.tenant
    with t.lock:
        loaner = next(
            d for d in roles["theirs"] if any(u.get("computerAzureActiveDirectoryId") == d.device_id for c in t.jamf.values() for u in c.local_users or [])
        )
    before = lab.records()
    res = run_cli(*RESET, "--serial", lab.serial, "--entra-device", loaner.id, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 4 and len(_errors(res)) == 1, res.stderr
    assert loaner.id in _errors(res)[0] and "another Mac's" in _errors(res)[0]
    assert lab.tenant.deleted == [] and lab.records() == before


def test_a_picked_old_device_of_the_mac_itself_is_deleted_by_the_reset(make_lab, state_dir):
    lab = make_lab("device-compliance-duplicates")
    roles = _dc_duplicates(lab)
    old = roles["old"][0]
    res = run_cli(*RESET, "--serial", lab.serial, "--entra-device", old.id, "--discard-escrowed-secrets", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert ("entra", old.id) in lab.deleted()
