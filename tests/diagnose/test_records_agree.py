"""`diagnose`, `batch select` and the delete steps judge the same records the same way (clients.records,
clients.symptoms): what is a Mac, what is a compliance mismatch, which Jamf Pro record says "unresponsive"."""

from __future__ import annotations

import json
import time

import pytest

from cleanup.batch.select import select
from cleanup.clients import symptoms as S
from cleanup.clients.records import ZERO_GUID, jamf_summary
from cleanup.diagnose import run_diagnose
from cleanup.lab.tenant.clientfiles import lab_cloud_opener
from cleanup.lab.tenant.model import new_guid
from tests.support.lab import run_cli

SERIAL = "C02AGREE0001"


def views(lab, state_dir, serial: str, rule: str):
    """(diagnose's checks by id, the serials `batch select --rule RULE` flags, the dry-run's steps by id)."""
    with lab_cloud_opener(lab.client)() as cloud:
        checks = {c.id: c for c in run_diagnose(serial, None, cloud)}
        flagged = {row["serial"] for row in select(cloud, rules=[rule])}
    res = run_cli("plan", "--only", "cloud", "--serial", serial, "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    body = json.loads(res.stdout)
    steps = {s["id"]: s for s in (body.get("data") or body)["steps"]}
    return checks, flagged, steps


def deleted_ids(step: dict) -> list[str]:
    return [c["details"]["id"] for c in step["changes"]]


def test_an_intune_record_saying_macmdm_is_no_mac_for_anyone(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    mac = t.add_mac(SERIAL, "MBP-AGREE", "a@contoso.example")
    odd = t.add_intune_device(SERIAL, "MBP-AGREE", new_guid(), operating_system="MacMDM", upn="a@contoso.example")
    checks, duplicates, steps = views(lab, state_dir, SERIAL, "duplicates")
    with lab_cloud_opener(lab.client)() as cloud:
        mismatched = {row["serial"] for row in select(cloud, rules=["compliance-mismatch"])}
    # diagnose: one record, the MacMDM one shown as not a Mac; no mismatch for its missing Entra device
    records = checks["intune-records"]
    assert records.status == "ok", records
    assert [r["id"] for r in records.evidence["records"]] == [mac["intune"].id]
    assert [r["id"] for r in records.evidence["not_macs"]] == [odd.id]
    assert checks["compliance-mismatch"].status == "ok"
    # batch select flags the serial for neither
    assert SERIAL not in duplicates and SERIAL not in mismatched
    # the delete steps never delete it
    assert deleted_ids(steps["delete-intune-records"]) == [mac["intune"].id]


def test_compliant_in_intune_with_the_entra_device_missing_is_a_mismatch_for_everyone(make_lab, state_dir):
    lab = make_lab("empty")
    mac = lab.tenant.add_mac(SERIAL, "MBP-AGREE", "a@contoso.example", entra=False)
    checks, flagged, steps = views(lab, state_dir, SERIAL, "compliance-mismatch")
    mismatch = checks["compliance-mismatch"]
    assert mismatch.status == "problem" and mismatch.playbook == "cause6", mismatch
    assert mismatch.evidence["entra_device_missing"] == [{"intune_id": mac["intune"].id, "azureADDeviceId": mac["device_id"].lower()}]
    assert flagged == {SERIAL}
    # the reset it calls for: the Mac's Intune record goes, there is no Entra device to delete
    assert deleted_ids(steps["delete-intune-records"]) == [mac["intune"].id]
    assert deleted_ids(steps["delete-entra-device"]) == []


def test_a_compliant_record_naming_no_entra_device_is_no_mismatch(make_lab, state_dir):
    lab = make_lab("empty")
    mac = lab.tenant.add_mac(SERIAL, "MBP-AGREE", "a@contoso.example", device_id=ZERO_GUID, entra=False)
    checks, flagged, steps = views(lab, state_dir, SERIAL, "compliance-mismatch")
    assert checks["compliance-mismatch"].status == "ok", checks["compliance-mismatch"]
    assert SERIAL not in flagged
    assert deleted_ids(steps["delete-intune-records"]) == [mac["intune"].id]


def test_unresponsive_is_judged_on_the_newest_jamf_record(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    t.add_mac(SERIAL, "MBP-AGREE", "a@contoso.example")
    t.add_jamf_computer(SERIAL, "MBP-AGREE-OLD", last_contact=time.time() - 5 * 86400)
    with lab_cloud_opener(lab.client)() as cloud:
        check_in = {c.id: c for c in run_diagnose(SERIAL, None, cloud)}["jamf-check-in"]
        flagged = {row["serial"] for row in select(cloud, rules=["unresponsive"])}
    assert check_in.status == "ok", check_in
    assert SERIAL not in flagged


# -- the predicates themselves -----------------------------------------------------------------------------

NOW = 1_800_000_000.0
DID = "3f2a1c9e-0000-4000-8000-00000000abcd"


def _intune(**over) -> dict:
    return {"id": "i1", "operatingSystem": "macOS", "complianceState": "compliant", "azureADDeviceId": DID.upper(), **over}


def _entra(**over) -> dict:
    return {"id": "e1", "deviceId": DID, "operatingSystem": "MacMDM", "isCompliant": True, **over}


@pytest.mark.parametrize(
    ("record", "entra", "expected"),
    [
        (_intune(), [_entra()], None),
        (_intune(), [_entra(isCompliant=False)], S.ENTRA_NOT_COMPLIANT),
        (_intune(), [_entra(isCompliant=None)], None),
        (_intune(), [], S.ENTRA_MISSING),
        (_intune(), [_entra(operatingSystem="Windows", isCompliant=False)], S.ENTRA_MISSING),
        (_intune(complianceState="noncompliant"), [], None),
        (_intune(azureADDeviceId=ZERO_GUID), [], None),
        (_intune(azureADDeviceId=""), [], None),
        (_intune(operatingSystem="MacMDM"), [], None),
    ],
)
def test_compliance_mismatch(record, entra, expected):
    assert S.compliance_mismatch(record, entra) == expected


def _jamf(last: str | None) -> dict:
    return jamf_summary({"id": 1, "general": {"name": "m", "lastContactTime": last}, "hardware": {"serialNumber": SERIAL}})


def test_unresponsive_and_duplicates():
    fresh, stale = "2027-01-15T07:00:00.123Z", "2027-01-10T08:00:00Z"  # NOW is 2027-01-15T08:00Z
    assert not S.unresponsive([_jamf(fresh), _jamf(stale)], NOW)
    assert S.unresponsive([_jamf(stale)], NOW) and S.unresponsive([_jamf(None)], NOW)
    assert not S.unresponsive([], NOW)
    assert S.intune_duplicates([_intune(), _intune(id="i2")])
    assert not S.intune_duplicates([_intune(), _intune(id="i2", operatingSystem="MacMDM")])
    assert S.entra_duplicates([_entra(), _entra(id="e2", operatingSystem="macOS")])
    assert not S.entra_duplicates([_entra(), _entra(id="e2", operatingSystem="Windows")])
    assert S.not_registered([_intune(operatingSystem="iOS")])
    assert S.managed_outside_jamf([_intune(managementAgent="mdm")])
