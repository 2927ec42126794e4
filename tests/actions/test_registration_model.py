"""classify(): which registration model a Mac is in, with the evidence and the leftovers of an older model."""

from __future__ import annotations

from types import SimpleNamespace

from cleanup.actions.registration_model import classify, describe, device_compliance_possible, legacy_partner_matters, model_of, psso_in_use

SERIAL = "C02XK1JBJG5H"
PSSO_ID = "34b1ba9a-3b2d-4c6c-ab4b-615f4b143eab"
UR_APP = "b03c10a8-71c7-45f9-b44a-3335ab76e970"
LEGACY_ON = {"displayName": "Jamf Pro", "partnerState": "enabled", "lastHeartbeatDateTime": "2026-11-20T08:00:00Z"}
DC_ON = {"displayName": "Jamf Device Compliance", "partnerState": "enabled", "macOsOnboarded": True, "lastHeartbeatDateTime": "2026-11-20T08:00:00Z"}


def _intune(agent: str = "jamf", oid: str = "1a2b") -> dict:
    return {"id": oid, "deviceName": "mac-1", "serialNumber": SERIAL, "managementAgent": agent, "operatingSystem": "macOS"}


def _cloud(intune=(), entra=()) -> dict:
    return {"serial": SERIAL, "jamf": [], "entra": list(entra), "intune": list(intune)}


def _device(models=(), dc=None, psso_user=False) -> dict:
    users = [
        {
            "name": "alice",
            "uid": 501,
            "logged_in": True,
            "psso_registered": psso_user,
            "psso_device_id": PSSO_ID if psso_user else None,
            "psso_status": 2 if psso_user else 0,
        }
    ]
    return {
        "models": list(models),
        "psso_device_ids": [PSSO_ID] if psso_user else [],
        "msal_device_ids": {"alice": PSSO_ID} if psso_user else {},
        "device_compliance": dc,
        "users": users,
    }


def test_legacy_from_jamf_managed_intune_records_and_the_legacy_partner():
    reg = classify(None, _cloud([_intune()]), {"legacy": [LEGACY_ON], "compliance": []})
    assert reg["model"] == "legacy" and reg["device_compliance"] is False and reg["leftovers"] == []
    assert any("managed by jamf" in e for e in reg["evidence"])
    assert any("deviceManagementPartners" in e and "'enabled'" in e for e in reg["evidence"])


def test_device_compliance_from_the_cloud_alone_when_no_intune_record():
    reg = classify(None, _cloud(), {"legacy": [], "compliance": [DC_ON]})
    assert reg["model"] == "device-compliance" and reg["device_compliance"] is True
    assert any("cloud-only" in e for e in reg["evidence"])


def test_device_compliance_from_the_macs_plist_wins_over_a_partner_read_without_permission():
    dc = {"enabled": True, "client_id": UR_APP, "tenant_domain": "contoso.onmicrosoft.com"}
    partners = {"legacy": None, "compliance": None, "notes": ["partner state unknown (no permission: DeviceManagementServiceConfig.Read.All)"]}
    reg = classify(_device(["device-compliance"], dc), _cloud(), partners)
    assert reg["model"] == "device-compliance"
    assert any("no permission" in e for e in reg["evidence"])
    assert any("microsoftCAEnabled True" in e and "the User registration app" in e for e in reg["evidence"])


def test_platform_sso_takes_precedence_and_names_its_device_id():
    reg = classify(_device(["platform-sso", "device-compliance"], psso_user=True), _cloud(), {"legacy": [], "compliance": [DC_ON]})
    assert reg["model"] == "platform-sso" and reg["psso_device_id"] == PSSO_ID and reg["device_compliance"] is True


def test_legacy_records_after_a_migration_are_leftovers():
    reg = classify(None, _cloud([_intune()]), {"legacy": [{**LEGACY_ON, "partnerState": "terminated"}], "compliance": [DC_ON]})
    assert reg["model"] == "device-compliance"
    assert reg["leftovers"] and "leftover of the legacy integration" in reg["leftovers"][0] and "1a2b" in reg["leftovers"][0]


def test_a_mac_in_device_compliance_makes_legacy_records_leftovers_even_with_both_partners_on():
    dc = {"enabled": True, "client_id": UR_APP, "tenant_domain": None}
    reg = classify(_device(["device-compliance"], dc), _cloud([_intune()]), {"legacy": [LEGACY_ON], "compliance": [DC_ON]})
    assert reg["model"] == "device-compliance"
    assert len(reg["leftovers"]) == 2 and "still enabled" in reg["leftovers"][1]


def test_unknown_when_nothing_tells_and_never_legacy_by_default():
    assert classify(None, _cloud(), None)["model"] == "unknown"
    assert classify(None, _cloud(), {"legacy": None, "compliance": None, "notes": []})["model"] == "unknown"
    both = classify(None, _cloud([_intune()]), {"legacy": [LEGACY_ON], "compliance": [DC_ON]})
    assert both["model"] == "unknown" and any("both Jamf partners" in e for e in both["evidence"])


def test_an_intune_record_not_managed_by_jamf_is_no_legacy_evidence():
    assert classify(None, _cloud([_intune("mdm")]), {"legacy": [], "compliance": []})["model"] == "unknown"


def test_describe_gives_plan_lines():
    lines = describe(classify(None, _cloud([_intune()]), {"legacy": [], "compliance": [DC_ON]}))
    assert lines[0] == "registration model: device-compliance" and any(line.startswith("  leftover: ") for line in lines)


def test_model_of_prefers_the_cloud_classification_then_the_macs_evidence():
    assert model_of(SimpleNamespace(facts={"cloud": {"registration": {"model": "legacy"}}, "registration": _device(["device-compliance"])})) == "legacy"
    assert model_of(SimpleNamespace(facts={"registration": _device(["platform-sso"], psso_user=True)})) == "platform-sso"
    assert model_of(SimpleNamespace(facts={"registration": _device(["device-compliance"])})) == "device-compliance"
    assert model_of(SimpleNamespace(facts={"registration": _device()})) == "unknown"
    assert model_of(SimpleNamespace(facts={})) == "unknown"


def test_psso_in_use_reads_only_the_macs_evidence():
    assert psso_in_use(SimpleNamespace(facts={"registration": _device(["platform-sso"], psso_user=True), "cloud": {"registration": {"model": "legacy"}}}))
    assert not psso_in_use(SimpleNamespace(facts={"registration": _device(["device-compliance"])}))
    assert not psso_in_use(SimpleNamespace(facts={}))


def test_jamf_applying_device_compliance_tells_the_model_when_the_partners_are_unreadable():
    cloud = {**_cloud(), "jamf": [{"id": "4", "device_compliance": [{"applicable": True, "state": "COMPLIANT", "vendor": None, "device_ids": [PSSO_ID]}]}]}
    reg = classify(None, cloud, {"legacy": None, "compliance": None, "notes": ["partner state unknown (no permission: ...)"]})
    assert reg["model"] == "device-compliance" and any("applicable True" in e for e in reg["evidence"])


def test_both_partners_on_and_a_mac_without_a_2026_model_is_legacy():
    reg = classify(_device(), _cloud([_intune()]), {"legacy": [LEGACY_ON], "compliance": [DC_ON]})
    assert reg["model"] == "legacy" and reg["leftovers"] == []


def test_a_cloud_only_run_names_an_entra_joined_mac_as_a_platform_sso_hint():
    joined = {"id": "e1", "deviceId": PSSO_ID, "displayName": "mac-1", "operatingSystem": "macOS", "trustType": "AzureAd"}
    reg = classify(None, _cloud(entra=[joined]), {"legacy": [], "compliance": [DC_ON]})
    assert reg["model"] == "device-compliance" and any("may use Platform SSO" in e for e in reg["evidence"])


def test_device_compliance_information_is_read_only_where_the_model_may_use_it():
    assert device_compliance_possible(_device(["device-compliance"]), None)
    assert not device_compliance_possible(None, None)  # partners not read: only the Mac tells
    assert not device_compliance_possible(None, {"compliance": []})  # a legacy tenant: one request less per record
    assert device_compliance_possible(None, {"compliance": None})  # unreadable: may be
    assert device_compliance_possible(None, {"compliance": [DC_ON]})


def test_the_legacy_partner_is_read_only_when_it_changes_the_answer():
    dc = {"compliance": [DC_ON]}
    assert not legacy_partner_matters(None, _cloud([_intune()]), {"compliance": []})  # legacy records, no DC: legacy
    assert legacy_partner_matters(None, _cloud([_intune()]), dc)  # leftovers or both integrations on?
    assert not legacy_partner_matters(None, _cloud(), dc)  # Device Compliance, nothing legacy in sight
    assert legacy_partner_matters(None, _cloud(), {"compliance": []})  # nothing else tells
