"""The duplicates playbook's keeper over step 0's facts: the device the Mac reports now, else the one seen last;
never the last device, never a non-Mac, never one another serial claims, never one found by name alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cleanup.actions.duplicates import decide, reported_now, seen_last
from cleanup.engine.action import registry
from cleanup.engine.context import RunContext, RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.errors import Ambiguous, SafetyRefusal, UsageError
from cleanup.hosts.nohost import NoHost

SERIAL = "C02XK1JBJG5H"
PSSO_ID = "34b1ba9a-3b2d-4c6c-ab4b-615f4b143eab"
WPJ_ID = "5f0c2f5e-6d1e-4b8a-9d64-0c8b7d1a2e01"
OLD_ID = "7a7a7a7a-1111-4222-8333-944444444444"
OTHER_ID = "9b9b9b9b-1111-4222-8333-955555555555"


def dev(
    oid: str, did: str, *, os_name: str = "MacMDM", trust: str = "Workplace", signed: str | None = None, registered: str | None = None, by: str = ""
) -> dict:
    return {
        "id": oid,
        "deviceId": did,
        "displayName": "MBP-ALICE",
        "operatingSystem": os_name,
        "trustType": trust,
        "approximateLastSignInDateTime": signed,
        "registrationDateTime": registered,
        "found_by": by or f"azureADDeviceId of Intune record i-{oid}",
    }


def intune(oid: str, did: str, synced: str) -> dict:
    return {
        "id": oid,
        "deviceName": "MBP-ALICE",
        "serialNumber": SERIAL,
        "azureADDeviceId": did,
        "managementAgent": "jamf",
        "operatingSystem": "macOS",
        "lastSyncDateTime": synced,
    }


def jamf(cid: str = "7", ids=(), dc_ids=None) -> dict:
    rec = {"id": cid, "name": "MBP-ALICE", "serial": SERIAL, "last_contact": "2026-11-30T10:00:00Z", "aad_device_ids": list(ids)}
    if dc_ids is not None:
        rec["device_compliance"] = [{"applicable": True, "state": "COMPLIANT", "vendor": "Microsoft Intune", "device_ids": list(dc_ids)}]
    return rec


def facts(entra=(), other=(), intune_=(), jamf_=(), by_name_only=False, claims=None, registration=None) -> dict:
    out = {
        "serial": SERIAL,
        "jamf": list(jamf_),
        "entra": list(entra),
        "entra_other": list(other),
        "entra_by_name_only": by_name_only,
        "intune": list(intune_),
        "claims": claims or {},
        "choices": {},
    }
    if registration is not None:
        out["registration"] = registration
    return out


PSSO_EVIDENCE = {"models": ["platform-sso", "device-compliance"], "psso_device_ids": [PSSO_ID], "users": []}


def test_the_platform_sso_device_is_kept_though_the_old_workplace_record_signed_in_later():
    old = dev("e-old", WPJ_ID, signed="2026-11-29T00:00:00Z", registered="2025-01-01T00:00:00Z")
    psso = dev("e-psso", PSSO_ID, os_name="macOS", trust="AzureAd", signed="2026-10-01T00:00:00Z", registered="2026-09-30T00:00:00Z", by="PSSO")
    d = decide(facts(entra=[old, psso], intune_=[intune("i-old", WPJ_ID, "2026-11-29T00:00:00Z")]), PSSO_EVIDENCE)
    assert d.entra is psso and "Platform SSO" in d.entra_why
    # the Intune record is the Mac's last one: kept, and so is the device it points to
    assert d.intune["id"] == "i-old" and d.stale_entra == []
    assert any("e-old" in n and "never deleted" in n for n in d.notes)


def test_with_the_mac_evidence_stale_workplace_records_of_stale_intune_records_go():
    old1 = dev("e-1", WPJ_ID, signed="2026-11-29T00:00:00Z")
    old2 = dev("e-2", OLD_ID, signed="2026-11-28T00:00:00Z")
    psso = dev("e-psso", PSSO_ID, os_name="macOS", trust="AzureAd", by="PSSO")
    recs = [intune("i-1", WPJ_ID, "2026-11-29T00:00:00Z"), intune("i-2", OLD_ID, "2026-11-01T00:00:00Z")]
    d = decide(facts(entra=[old1, old2, psso], intune_=recs), PSSO_EVIDENCE)
    assert d.entra is psso and d.intune["id"] == "i-1" and [x["id"] for x in d.stale_entra] == ["e-2"]


def test_the_psso_device_id_of_the_cloud_classification_counts_without_the_mac():
    psso = dev("e-psso", PSSO_ID, os_name="macOS", trust="AzureAd", signed="2026-01-01T00:00:00Z")
    newer = dev("e-new", WPJ_ID, signed="2026-11-29T00:00:00Z")
    d = decide(facts(entra=[newer, psso], registration={"model": "platform-sso", "psso_device_id": PSSO_ID}))
    assert d.entra is psso and [x["id"] for x in d.stale_entra] == ["e-new"]


def test_jamf_pro_recorded_entra_id_keeps_a_device_compliance_mac_device_with_no_intune_record():
    cur = dev("e-cur", WPJ_ID, signed="2026-10-01T00:00:00Z", by="deviceId Jamf Pro reports for computer 7")
    old1 = dev("e-o1", OLD_ID, signed="2026-11-29T00:00:00Z")
    old2 = dev("e-o2", OTHER_ID, signed="2026-11-20T00:00:00Z")
    recs = [intune("i-o1", OLD_ID, "2026-06-01T00:00:00Z"), intune("i-o2", OTHER_ID, "2026-07-01T00:00:00Z")]  # legacy leftovers
    d = decide(facts(entra=[old1, old2, cur], intune_=recs, jamf_=[jamf(ids=[WPJ_ID])]))
    assert d.entra is cur and "Jamf Pro records for computer 7" in d.entra_why
    assert d.intune["id"] == "i-o2"  # no record points to the current device: the one synced last
    assert [x["id"] for x in d.stale_entra] == ["e-o1"]  # e-o2 stays with the record kept


def test_in_the_device_compliance_model_the_kept_intune_record_is_named_a_leftover():
    cur = dev("e-cur", WPJ_ID, by="deviceId Jamf Pro reports for computer 7")
    recs = [intune("i-o1", OLD_ID, "2026-06-01T00:00:00Z"), intune("i-o2", OTHER_ID, "2026-07-01T00:00:00Z")]
    d = decide(facts(entra=[cur], intune_=recs, jamf_=[jamf(ids=[WPJ_ID])], registration={"model": "device-compliance", "psso_device_id": None}))
    assert d.intune["id"] == "i-o2" and "leftover of the legacy integration" in d.intune_why and "cause6" in d.intune_why


def test_jamf_device_compliance_ids_alone_name_the_current_device():
    cur = dev("e-cur", WPJ_ID, signed="2026-10-01T00:00:00Z", by="device-compliance")
    old = dev("e-old", OLD_ID, signed="2026-11-29T00:00:00Z")
    recs = [intune("i-old", OLD_ID, "2026-11-29T00:00:00Z"), intune("i-cur", WPJ_ID, "2026-10-01T00:00:00Z")]
    d = decide(facts(entra=[old, cur], intune_=recs, jamf_=[jamf(dc_ids=[WPJ_ID])]))
    assert d.entra is cur and "device-compliance information of computer 7" in d.entra_why
    assert d.intune["id"] == "i-cur" and [x["id"] for x in d.stale_entra] == ["e-old"]


def test_device_compliance_ids_that_are_intune_ids_pick_the_record_and_are_no_ambiguity():
    cur = dev("e-cur", WPJ_ID)
    old = dev("e-old", OLD_ID, signed="2026-11-29T00:00:00Z")
    recs = [intune("11111111-2222-4333-8444-555555555555", WPJ_ID, "2026-01-01T00:00:00Z"), intune("i-old", OLD_ID, "2026-11-29T00:00:00Z")]
    d = decide(facts(entra=[old, cur], intune_=recs, jamf_=[jamf(ids=[WPJ_ID], dc_ids=["11111111-2222-4333-8444-555555555555"])]))
    assert d.entra is cur and d.intune["id"].startswith("1111") and [x["id"] for x in d.stale_entra] == ["e-old"]


def test_two_devices_both_reported_current_refuse_and_a_pick_resolves_it():
    psso = dev("e-psso", PSSO_ID, os_name="macOS", trust="AzureAd", by="PSSO")
    wpj = dev("e-wpj", WPJ_ID, by="deviceId Jamf Pro reports for computer 7")
    f = facts(entra=[psso, wpj], jamf_=[jamf(ids=[WPJ_ID])])
    with pytest.raises(Ambiguous) as exc:
        decide(f, PSSO_EVIDENCE)
    assert "e-psso" in exc.value.message and "e-wpj" in exc.value.message and "--entra-device" in (exc.value.hint or "")
    d = decide(f, PSSO_EVIDENCE, picks=["e-wpj"])
    assert d.entra is psso and [x["id"] for x in d.stale_entra] == ["e-wpj"]


def test_jamf_records_that_disagree_still_refuse():
    f = facts(entra=[dev("e-1", WPJ_ID)], jamf_=[jamf("7", [WPJ_ID]), jamf("8", [OLD_ID])])
    with pytest.raises(Ambiguous, match="2 different Entra deviceIds"):
        decide(f)


def test_a_pick_never_deletes_the_macs_own_registration_nor_its_last_device():
    psso = dev("e-psso", PSSO_ID, os_name="macOS", trust="AzureAd", by="PSSO")
    old = dev("e-old", OLD_ID)
    f = facts(entra=[psso, old])
    with pytest.raises(SafetyRefusal, match="own current registration"):
        decide(f, PSSO_EVIDENCE, picks=["e-psso"])
    with pytest.raises(SafetyRefusal, match="names every Entra device"):
        decide(f, None, picks=["e-psso", "e-old"])
    with pytest.raises(UsageError):
        decide(f, None, picks=["no-such-device"])
    cert = dev("e-cert", WPJ_ID, by="deviceId on the Mac's Workplace Join certificate (alice)")
    with pytest.raises(SafetyRefusal, match="own current registration"):
        decide(facts(entra=[cert, old]), None, picks=["e-cert"])


def test_seen_last_treats_sign_ins_within_19_days_as_a_tie_decided_by_registration():
    a = dev("a", OLD_ID, signed="2026-11-20T00:00:00Z", registered="2026-01-01T00:00:00Z")
    b = dev("b", WPJ_ID, signed="2026-11-05T00:00:00Z", registered="2026-10-01T00:00:00Z")
    c = dev("c", OTHER_ID, signed="2026-09-01T00:00:00Z", registered="2026-11-01T00:00:00Z")
    keep, why = seen_last([a, b, c])
    assert keep is b and "within 19 days" in why
    keep, why = seen_last([a, c])
    assert keep is a and "signed in last" in why
    keep, why = seen_last([dev("x", OLD_ID, registered="2026-01-01T00:00:00Z"), dev("y", WPJ_ID, registered="2026-02-01T00:00:00Z")])
    assert keep["id"] == "y" and "registered last" in why


def test_without_any_report_the_device_of_the_kept_intune_record_wins_over_sign_in():
    a = dev("e-a", OLD_ID, signed="2026-11-29T00:00:00Z")
    b = dev("e-b", WPJ_ID, signed="2026-06-01T00:00:00Z")
    d = decide(facts(entra=[a, b], intune_=[intune("i-a", OLD_ID, "2026-01-01T00:00:00Z"), intune("i-b", WPJ_ID, "2026-11-30T00:00:00Z")]))
    assert d.intune["id"] == "i-b" and d.entra is b and [x["id"] for x in d.stale_entra] == ["e-a"]
    only = decide(facts(entra=[a]))
    assert only.entra is a and only.stale_entra == []  # never the last device


def test_devices_found_by_name_or_not_macs_are_never_stale():
    a = dev("e-a", OLD_ID, signed="2026-11-29T00:00:00Z", by="displayName 'MBP-ALICE'")
    b = dev("e-b", WPJ_ID, signed="2026-01-01T00:00:00Z", by="displayName 'MBP-ALICE'")
    assert decide(facts(entra=[a, b], by_name_only=True)).stale_entra == []
    cur = dev("e-cur", PSSO_ID, by="deviceId Jamf Pro reports for computer 7")
    windows = dev("e-pc", OTHER_ID, os_name="Windows", trust="AzureAd")
    d = decide(facts(entra=[cur, windows], other=[a], jamf_=[jamf(ids=[PSSO_ID])]))
    assert d.entra is cur and d.stale_entra == []
    picked = decide(facts(entra=[cur], other=[a], jamf_=[jamf(ids=[PSSO_ID])]), None, picks=["e-a"])
    assert [x["id"] for x in picked.stale_entra] == ["e-a"] and picked.entra is cur


def test_reported_now_lists_every_source_of_a_device_id():
    f = facts(jamf_=[jamf(ids=[WPJ_ID.upper()], dc_ids=[WPJ_ID])], registration={"psso_device_id": PSSO_ID})
    got = reported_now(f, {"psso_device_ids": [PSSO_ID]})
    assert set(got) == {WPJ_ID, PSSO_ID} and len(got[WPJ_ID]) == 2 and len(got[PSSO_ID]) == 2


def _inventory(*records: dict):
    """A cloud session whose Jamf Pro inventory holds ``records`` (raw), for the explicit pick's claim check."""
    cloud = SimpleNamespace(config=SimpleNamespace(jamf_configured=lambda: True), jamf=SimpleNamespace(all_computers=lambda: list(records)))
    return lambda: cloud


def _raw_jamf(cid: str, serial: str, name: str, did: str) -> dict:
    return {"id": cid, "general": {"name": name}, "hardware": {"serialNumber": serial}, "localUserAccounts": [{"computerAzureActiveDirectoryId": did}]}


def _plan(action: str, cloud: dict, registration: dict | None = None, picks=(), inventory=()):
    pb = load_playbook("duplicates")
    step = next(s for s in pb.steps if s.action == action)
    f = {"cloud": cloud, "serial": SERIAL}
    if registration is not None:
        f["registration"] = registration
    options = RunOptions(choices={"entra": list(picks)} if picks else {})
    ctx = RunContext(host=NoHost(), options=options, facts=f, playbook=pb, cloud_opener=_inventory(*inventory))
    return registry()[action].plan(ctx, step)


def test_the_step_keeps_a_device_another_serial_claims_and_says_why():
    cur = dev("e-cur", PSSO_ID, by="deviceId Jamf Pro reports for computer 7")
    theirs = dev("e-theirs", OTHER_ID)
    mine = dev("e-mine", OLD_ID)
    recs = [
        intune("i-cur", PSSO_ID, "2026-11-30T00:00:00Z"),
        intune("i-theirs", OTHER_ID, "2026-01-01T00:00:00Z"),
        intune("i-mine", OLD_ID, "2026-01-02T00:00:00Z"),
    ]
    claims = {OTHER_ID: ["Intune record x of serial C02OTHER0001 ('MBP-BOB') points to it"], OLD_ID: [], PSSO_ID: []}
    cloud = facts(entra=[cur, theirs, mine], intune_=recs, jamf_=[jamf(ids=[PSSO_ID])], claims=claims)
    plan = _plan("duplicates.entra", cloud)
    assert [c.details["id"] for c in plan.changes] == ["e-mine"]
    assert any("e-theirs" in n and "another Mac's registration" in n for n in plan.notes)
    assert any(n.startswith("kept Entra device e-cur") for n in plan.notes)
    intune_plan = _plan("duplicates.intune", cloud)
    assert sorted(c.details["id"] for c in intune_plan.changes) == ["i-mine", "i-theirs"]


def test_the_step_names_each_device_found_by_name_with_its_option():
    cur = dev("e-cur", PSSO_ID, by="deviceId Jamf Pro reports for computer 7")
    named = dev("e-named", OLD_ID, by="displayName 'MBP-ALICE'")
    cloud = facts(entra=[cur], other=[named], jamf_=[jamf(ids=[PSSO_ID])])
    plan = _plan("duplicates.entra", cloud)
    assert plan.changes == [] and any("e-named" in n and "--entra-device e-named" in n for n in plan.notes)
    mine = _raw_jamf("7", SERIAL, "MBP-ALICE", PSSO_ID)
    picked = _plan("duplicates.entra", dict(cloud, choices={"entra": ["e-named"]}), picks=["e-named"], inventory=[mine])
    assert [c.details["id"] for c in picked.changes] == ["e-named"]


def test_a_picked_device_another_serials_jamf_record_reports_is_refused():
    # a loaner with another name whose Jamf Pro record reports the device: step 0's claim lookup (by serial and
    # name) cannot see it, the pick's inventory read does
    cur = dev("e-cur", PSSO_ID, by="deviceId Jamf Pro reports for computer 7")
    loaner = dev("e-loaner", OTHER_ID, by="displayName 'MBP-ALICE'")
    cloud = facts(entra=[cur], other=[loaner], jamf_=[jamf(ids=[PSSO_ID])], claims={PSSO_ID: [], OTHER_ID: []})
    inventory = [_raw_jamf("7", SERIAL, "MBP-ALICE", PSSO_ID), _raw_jamf("9", "C02TRP1LNR01", "MBP-LOANER", OTHER_ID)]
    with pytest.raises(SafetyRefusal, match="C02TRP1LNR01"):
        _plan("duplicates.entra", cloud, picks=["e-loaner"], inventory=inventory)
