"""The 2026 tenant: the scenarios' records, /_lab/register per registration model, /_lab/model, the Device
Compliance knobs (dc_device, dc_info_shape) and the compliance delay, over the emulator's HTTPS."""

from __future__ import annotations

import time

import pytest

from cleanup.lab.tenant import MacIdentity, Tenant, seed
from cleanup.lab.tenant.records import INTUNE_MDM_APP_ID
from cleanup.lab.tenant.scenarios import MODELS

IDS = ["34b1ba9a-3b2d-4c6c-ab4b-615f4b143eab", "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "0b9e3c1a-7d2f-4e8a-9c5b-1f2e3d4c5b6a"]
DC_INFO = "/api/v1/conditional-access/device-compliance-information/computer/{id}"
UNRELATED = {"DESKTOP-7Q2K9LM", "LAPTOP-CAROL01", "iPhone-DAVE", "MBP-BOB", "MBA-CAROL", "MBP-ERIN"}


def _seeded(scenario: str, **dc_device) -> tuple[Tenant, MacIdentity]:
    t = Tenant()
    if dc_device:
        t.set_registration_model("legacy", dc_device)
    mac = MacIdentity(device_ids=list(IDS))
    return seed(t, scenario, mac), mac


def _jamf_reported_ids(record) -> list[str]:
    return [u["computerAzureActiveDirectoryId"] for u in record.local_users or []]


@pytest.mark.parametrize("scenario", sorted(MODELS))
def test_every_2026_scenario_has_the_unrelated_devices_and_no_intune_record_managed_by_jamf_for_the_mac_but_leftovers(scenario):
    t, mac = _seeded(scenario)
    assert t.registration_model == MODELS[scenario]
    assert {d.display_name for d in t.entra.values()} >= UNRELATED
    [record] = t.jamf_by_serial(mac.serial)
    assert _jamf_reported_ids(record) == [IDS[0]]
    info = t.compliance[record.id]
    assert info.device_ids == [IDS[0]] and info.applicable and info.state_at(time.time()) == "COMPLIANT"
    assert [p["partnerState"] for p in t.directory.compliance_partners] == ["enabled"]
    assert t.directory.compliance_partners[0]["macOsOnboarded"] is True and t.directory.compliance_partners[0]["heartbeat_age"] < 3600
    legacy = t.directory.jamf_partner()
    if scenario == "legacy-leftovers":
        assert legacy["partnerState"] == "terminated" and len(t.intune_by_serial(mac.serial)) == 2
        assert {r.management_agent for r in t.intune_by_serial(mac.serial)} == {"jamf"}
    else:
        assert legacy is None and t.intune_by_serial(mac.serial) == []
    # the other Macs are Device Compliance Macs too: none has an Intune record
    assert not any(r.operating_system == "macOS" and r.serial in {c.serial for c in t.jamf.values()} and r.serial != mac.serial for r in t.intune.values())


def test_device_compliance_the_mac_once():
    t, mac = _seeded("device-compliance")
    [device] = t.entra_by_name(mac.name)
    assert device.device_id == IDS[0] and device.trust_type == "Workplace" and device.operating_system == "MacMDM"
    assert device.os_version == "15.7 (24G222)" and device.mdm_app_id == INTUNE_MDM_APP_ID and device.is_compliant
    assert (len(t.jamf), len(t.entra), len(t.intune)) == (4, 7, 3)  # Windows PCs and the iPhone keep their Intune records


@pytest.mark.parametrize(("os_name", "app_id", "other"), [("MacMDM", INTUNE_MDM_APP_ID, "macOS"), ("macOS", None, "MacMDM")])
def test_device_compliance_duplicates_per_knob_and_the_traps(os_name, app_id, other):
    t, mac = _seeded("device-compliance-duplicates", operating_system=os_name, mdm_app_id=app_id)
    named = {d.device_id: d for d in t.entra_by_name(mac.name)}
    current, old, other_os = named.pop(IDS[0]), named.pop(IDS[1]), named.pop(IDS[2])
    assert current.operating_system == os_name and current.mdm_app_id == app_id and current.trust_type == "Workplace"
    assert old.registered < current.registered and old.last_sign_in < current.last_sign_in and old.operating_system == os_name
    assert other_os.operating_system == other and other_os.os_version == {"MacMDM": "15.7 (24G222)", "macOS": "15.7.0"}[other]
    # the traps: never the Mac's
    windows = [d for d in named.values() if d.operating_system == "Windows"]
    assert len(windows) == 1
    traps = [d for d in named.values() if d.operating_system != "Windows"]
    assert len(traps) == 2
    claimed = {}
    for rec in t.jamf.values():
        if rec.serial != mac.serial:
            claimed.update(dict.fromkeys(_jamf_reported_ids(rec) + (t.compliance[rec.id].device_ids if rec.id in t.compliance else []), rec.serial))
    claimed.update({r.aad_device_id: r.serial for r in t.intune.values() if r.serial != mac.serial})
    assert all(claimed.get(d.device_id) not in (None, mac.serial) for d in traps)
    assert not t.intune_by_serial(mac.serial)


def test_platform_sso_and_the_workplace_record_from_before():
    t, mac = _seeded("platform-sso")
    psso = t.entra_by_device_id(IDS[0])
    assert (psso.trust_type, psso.operating_system, psso.os_version) == ("AzureAd", "macOS", "15.7.0")
    old = t.entra_by_device_id(IDS[1])
    assert old.display_name == mac.name and old.trust_type == "Workplace" and old.registered < psso.registered and not old.is_compliant
    [record] = t.jamf_by_serial(mac.serial)
    assert t.compliance[record.id].device_ids == [IDS[0]]


def test_legacy_leftovers_point_at_an_old_workplace_device_and_a_gone_one():
    t, mac = _seeded("legacy-leftovers")
    linked = sorted(r.aad_device_id for r in t.intune_by_serial(mac.serial))
    assert linked == sorted(IDS[1:])
    assert t.entra_by_device_id(IDS[1]).trust_type == "Workplace" and t.entra_by_device_id(IDS[2]) is None
    assert t.entra_by_device_id(IDS[0]).mdm_app_id == INTUNE_MDM_APP_ID


# -- over HTTPS (the conftest's client, on the scenario given to ``tenant``) ---------------------------


@pytest.fixture
def tenant(make_tenant, request):
    return make_tenant(getattr(request, "param", "clean"))


def _register(client, **body):
    mac = client.server.tenant.mac
    return client.post("/_lab/register", json={"serial": mac.serial, "name": mac.name, "user_upn": mac.user_upn, **body})


def _dc_info(client, cid, token=None):
    return client.get(DC_INFO.format(id=cid), token or client.jamf_token())


@pytest.mark.parametrize("tenant", ["platform-sso"], indirect=True)
def test_graph_renders_the_new_device_fields_and_filters_on_mdm_app_id(client):
    token = client.graph_token("readonly")
    dev = client.get(f"/v1.0/devices(deviceId='{client.server.tenant.mac.device_ids[0]}')", token).json()
    assert dev["trustType"] == "AzureAd" and dev["operatingSystem"] == "macOS" and dev["mdmAppId"] == INTUNE_MDM_APP_ID and dev["managementType"] is None
    found = client.get("/v1.0/devices", token, params={"$filter": f"mdmAppId eq '{INTUNE_MDM_APP_ID}'"}).json()["value"]
    assert found and all(d["mdmAppId"] == INTUNE_MDM_APP_ID for d in found)


def test_register_legacy_is_as_before(client):
    t = client.server.tenant
    [record] = t.jamf_by_serial(t.mac.serial)
    users_before = [dict(u) for u in record.local_users]
    reg = _register(client).json()
    assert set(reg) == {"deviceId", "entra_id", "intune_id"} and isinstance(reg["intune_id"], str)
    assert t.intune[reg["intune_id"]].management_agent == "jamf" and t.entra[reg["entra_id"]].operating_system == "MacMDM"
    assert t.compliance == {} and record.local_users == users_before  # nothing reported to Jamf Pro
    assert _dc_info(client, record.id).json() == []


def test_register_device_compliance_reports_to_the_newest_jamf_record_and_creates_no_intune_record(client):
    t = client.server.tenant
    mac = t.mac
    new_id = client.post("/_lab/jamf/enroll", json={"serial": mac.serial, "name": mac.name}).json()["id"]
    intune_before = len(t.intune)
    reg = _register(client, model="device-compliance").json()
    assert reg["intune_id"] is None and len(t.intune) == intune_before
    dev = t.entra[reg["entra_id"]]
    assert (dev.trust_type, dev.operating_system, dev.mdm_app_id, dev.device_id) == ("Workplace", "MacMDM", INTUNE_MDM_APP_ID, reg["deviceId"])
    [entry] = _dc_info(client, new_id).json()
    assert entry == {
        "deviceId": new_id,
        "applicable": True,
        "complianceState": "COMPLIANT",
        "complianceVendor": "Microsoft Intune",
        "complianceVendorDeviceInformation": [{"deviceIds": [reg["deviceId"]]}],
    }
    assert [u["computerAzureActiveDirectoryId"] for u in t.jamf[new_id].local_users] == [reg["deviceId"]]
    older = [r for r in t.jamf_by_serial(mac.serial) if r.id != new_id]
    assert older and all(r.id not in t.compliance for r in older)


def test_register_platform_sso_uses_the_macs_device_id(client):
    t = client.server.tenant
    psso_id = "0dde70e6-f430-449f-8bce-f4d0a9eca2a4"
    reg = _register(client, model="platform-sso", device_id=psso_id.upper()).json()
    dev = t.entra[reg["entra_id"]]
    assert dev.device_id.lower() == psso_id and (dev.trust_type, dev.operating_system, dev.os_version) == ("AzureAd", "macOS", "15.7.0")
    [record] = t.jamf_by_serial(t.mac.serial)
    assert t.compliance[record.id].device_ids == [psso_id] and reg["intune_id"] is None


def test_the_tenants_model_and_dc_device_knob_decide_a_register_without_model(client):
    t = client.server.tenant
    assert client.get("/_lab/model").json() == {
        "model": "legacy",
        "dc_device": {"operating_system": "MacMDM", "mdm_app_id": INTUNE_MDM_APP_ID, "management_type": None},
    }
    r = client.post("/_lab/model", json={"model": "device-compliance", "dc_device": {"operating_system": "macOS", "mdm_app_id": None}})
    assert r.status_code == 200 and r.json()["dc_device"] == {"operating_system": "macOS", "mdm_app_id": None, "management_type": None}
    reg = _register(client).json()
    dev = t.entra[reg["entra_id"]]
    assert reg["intune_id"] is None and (dev.operating_system, dev.os_version, dev.mdm_app_id, dev.trust_type) == ("macOS", "15.7.0", None, "Workplace")
    state = client.lab_state()
    assert state["registration_model"] == "device-compliance" and state["dc_device"]["operating_system"] == "macOS"
    [entry] = state["compliance"].values()
    assert entry["device_ids"] == [reg["deviceId"]] and entry["state"] == "COMPLIANT"
    assert state["compliance_partners"] == []  # "clean" is a legacy tenant
    assert {"mdm_app_id", "management_type"} <= set(state["entra"][0])


@pytest.mark.parametrize(
    "body",
    [
        {"model": "intune"},
        {"dc_device": {"operating_system": "Windows"}},
        {"dc_device": {"mdm_app_id": "11111111-1111-4111-8111-111111111111"}},
        {"dc_device": {"colour": "red"}},
        {"dc_device": "macOS"},
        {"modle": "legacy"},
    ],
)
def test_bad_model_settings_are_refused(client, body):
    r = client.post("/_lab/model", json=body)
    assert r.status_code == 400 and r.json()["error"]
    assert client.get("/_lab/model").json()["model"] == "legacy"


def test_register_with_an_unknown_model_or_a_reserved_device_id_is_refused(client):
    assert _register(client, model="hybrid").status_code == 400
    t = client.server.tenant
    old = t.entra_by_device_id(t.mac.device_ids[0])
    t.delete_entra(old.id)  # soft-deleted: its deviceId stays reserved
    r = _register(client, model="platform-sso", device_id=old.device_id)
    assert r.status_code == 409 and "reserved" in r.json()["error"]


def test_the_compliance_delay_keeps_jamf_unknown_and_entra_not_compliant_until_it_passed(client):
    t = client.server.tenant
    assert client.post("/_lab/faults", json={"compliance_delay": 0.8}).json()["compliance_delay"] == 0.8
    reg = _register(client, model="device-compliance").json()
    [record] = t.jamf_by_serial(t.mac.serial)
    token, graph = client.jamf_token(), client.graph_token("readonly")
    device = f"/v1.0/devices(deviceId='{reg['deviceId']}')"
    assert _dc_info(client, record.id, token).json()[0]["complianceState"] == "UNKNOWN"
    assert client.get(device, graph).json()["isCompliant"] is False
    time.sleep(0.9)
    assert _dc_info(client, record.id, token).json()[0]["complianceState"] == "COMPLIANT"
    assert client.get(device, graph).json()["isCompliant"] is True


def test_dc_info_shape_knob_and_a_deleted_record(client):
    t = client.server.tenant
    reg = _register(client, model="device-compliance").json()
    [record] = t.jamf_by_serial(t.mac.serial)
    assert client.post("/_lab/faults", json={"dc_info_shape": "object"}).status_code == 200
    assert _dc_info(client, record.id).json()[0]["complianceVendorDeviceInformation"] == {"deviceIds": [reg["deviceId"]]}
    r = client.post("/_lab/faults", json={"dc_info_shape": "list"})
    assert r.status_code == 400 and "dc_info_shape" in r.json()["error"]
    t.delete_jamf(record.id)
    r = _dc_info(client, record.id)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "INVALID_ID"
    assert _dc_info(client, record.id, "not-a-token").status_code == 401
