"""check_registration per registration model, on a stand-in for the services: what is missing, pending or a
warning for a Device Compliance Mac, and which check an unknown model gets."""

from __future__ import annotations

from types import SimpleNamespace

from cleanup.actions.verify import check_registration, old_device_ids

SERIAL = "C02XK1JBJG5H"
OLD_ID, NEW_ID, OTHER_ID = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"


class FakeJamf:
    def __init__(self, users: list[str], info):
        self.users, self.info = users, info

    def computers_by_serial(self, serial):
        return [
            {
                "id": "9",
                "general": {"name": "mac-1"},
                "hardware": {"serialNumber": serial},
                "localUserAccounts": [{"computerAzureActiveDirectoryId": u} for u in self.users],
            }
        ]

    def escrow_sections(self, cid):
        return {}

    def computer(self, cid):
        return None

    def get_or_none(self, path, params=None):
        return self.info


class FakeGraph:
    def __init__(self, devices: dict[str, list[dict]], intune: list[dict] | None = None):
        self.devices, self.intune = devices, intune or []

    def managed_devices_by_serial(self, serial):
        return self.intune

    def devices_by_device_id(self, did):
        return self.devices.get(did, [])

    def devices_by_device_ids(self, dids):
        return {d: self.devices.get(d, []) for d in dids}


def _facts(model: str | None) -> dict:
    facts = {"serial": SERIAL, "jamf": [{"id": "4"}], "entra": [{"id": "e-old", "deviceId": OLD_ID, "found_by": "x"}], "intune": [], "claims": {}}
    if model:
        facts["registration"] = {"model": model}
    return facts


def _cloud(users=(NEW_ID,), info=None, devices=None, intune=None):
    info = [{"applicable": True, "complianceState": "COMPLIANT", "complianceVendorDeviceInformation": {"deviceIds": [NEW_ID]}}] if info is None else info
    devices = {NEW_ID: [{"id": "e-new", "deviceId": NEW_ID, "accountEnabled": True, "trustType": "Workplace"}]} if devices is None else devices
    return SimpleNamespace(jamf=FakeJamf(list(users), info), graph=FakeGraph(devices, intune))


def test_device_compliance_verified():
    v = check_registration(_cloud(), _facts("device-compliance"))
    assert v.verified and v.fully_verified and v.model == "device-compliance" and v.found["entra"] == "e-new" and v.found["compliance_state"] == "COMPLIANT"


def test_an_old_device_still_there_is_missing():
    devices = {NEW_ID: [{"id": "e-new", "deviceId": NEW_ID}], OLD_ID: [{"id": "e-old", "deviceId": OLD_ID}]}
    v = check_registration(_cloud(devices=devices), _facts("device-compliance"))
    assert not v.verified and any("old Entra device e-old" in m for m in v.missing)


def test_not_applicable_and_several_new_device_ids_are_missing():
    info = [{"applicable": False, "complianceState": "UNKNOWN"}]
    v = check_registration(_cloud(users=(NEW_ID, OTHER_ID), info=info), _facts("device-compliance"))
    assert not v.verified
    assert any("several new deviceIds" in m for m in v.missing) and any("not applicable" in m for m in v.missing)


def test_a_disabled_entra_device_is_not_registered():
    v = check_registration(_cloud(devices={NEW_ID: [{"id": "e-new", "deviceId": NEW_ID, "accountEnabled": False}]}), _facts("device-compliance"))
    assert not v.verified and any("(disabled)" in m for m in v.missing)


def test_unknown_takes_the_legacy_check_when_intune_has_a_new_record_else_device_compliance():
    assert check_registration(_cloud(), _facts("unknown")).model == "device-compliance"
    intune = [{"id": "i-new", "serialNumber": SERIAL, "operatingSystem": "macOS", "managementAgent": "jamf", "azureADDeviceId": NEW_ID}]
    v = check_registration(_cloud(intune=intune), _facts("unknown"))
    assert v.model == "legacy" and v.verified and v.found["intune"] == "i-new" and "Intune has a new record" in v.found["model_checked_because"]


def test_a_run_recorded_before_models_is_checked_as_legacy():
    v = check_registration(_cloud(), _facts(None))
    assert v.model == "legacy" and not v.verified and any("Intune has 0 new record(s)" in m for m in v.missing)


def test_old_device_ids_are_those_step_5_deletes():
    facts = _facts("device-compliance")
    assert old_device_ids(facts) == [OLD_ID]
    assert old_device_ids({**facts, "claims": {OLD_ID: ["another Mac's"]}}) == []  # kept by step 5: not expected gone
    assert old_device_ids({**facts, "entra_by_name_only": True}) == []
