"""Graph: Entra devices and Intune managed devices (filters, paging, roles, token expiry, consistency)."""

from __future__ import annotations

import time

import pytest

MANAGED = "/v1.0/deviceManagement/managedDevices"


def _devices(client, token, flt=None, **params):
    if flt is not None:
        params["$filter"] = flt
    r = client.get("/v1.0/devices", token, params=params)
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_device_filters(client, mac):
    token = client.graph_token("readonly")
    t = client.server.tenant
    t.add_entra_device("O'Brien's MacBook")
    [dev] = _devices(client, token, f"deviceId eq '{mac.device_ids[0]}'")
    assert dev["displayName"] == mac.name and dev["operatingSystem"] == "MacMDM" and dev["trustType"] == "Workplace"
    assert {
        "id",
        "deviceId",
        "accountEnabled",
        "approximateLastSignInDateTime",
        "registrationDateTime",
        "isCompliant",
        "isManaged",
        "physicalIds",
        "operatingSystemVersion",
        "deviceOwnership",
        "profileType",
    } <= set(dev)
    assert [d["deviceId"] for d in _devices(client, token, f"displayName eq '{mac.name.lower()}'")] == [mac.device_ids[0]]
    assert [d["displayName"] for d in _devices(client, token, "displayName eq 'O''Brien''s MacBook'")] == ["O'Brien's MacBook"]
    assert {d["displayName"] for d in _devices(client, token, "startswith(displayName,'MBP-')")} == {"MBP-ALICE", "MBP-BOB", "MBP-ERIN"}
    both = _devices(client, token, f"displayName eq 'MBP-BOB' or deviceId eq '{mac.device_ids[0]}'")
    assert {d["displayName"] for d in both} == {"MBP-BOB", "MBP-ALICE"}
    assert _devices(client, token, f"displayName eq 'MBP-BOB' and deviceId eq '{mac.device_ids[0]}'") == []
    selected = _devices(client, token, f"deviceId eq '{mac.device_ids[0]}'", **{"$select": "id,displayName"})
    assert set(selected[0]) == {"id", "displayName"}


@pytest.mark.parametrize(
    "flt, code",
    [
        ("physicalIds eq 'x'", "Request_UnsupportedQuery"),
        ("endswith(displayName,'x')", "Request_UnsupportedQuery"),
        ("displayName eq 'unterminated", "BadRequest"),
        ("displayName eq", "BadRequest"),
    ],
)
def test_unsupported_device_filters(client, flt, code):
    r = client.get("/v1.0/devices", client.graph_token(), params={"$filter": flt})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == code and {"date", "request-id", "client-request-id"} <= set(err["innerError"])
    assert r.headers["request-id"]


def test_get_by_id_alternate_key_and_delete(client, mac):
    token = client.graph_token()
    [dev] = _devices(client, token, f"deviceId eq '{mac.device_ids[0]}'")
    assert client.get(f"/v1.0/devices/{dev['id']}", token).json()["deviceId"] == mac.device_ids[0]
    assert client.get(f"/v1.0/devices(deviceId='{mac.device_ids[0]}')", token).json()["id"] == dev["id"]
    r = client.delete(f"/v1.0/devices/{dev['id']}", token)
    assert r.status_code == 204 and r.content == b"" and r.headers["request-id"]
    r = client.delete(f"/v1.0/devices/{dev['id']}", token)
    assert r.status_code == 404 and r.json()["error"]["code"] == "Request_ResourceNotFound"
    assert client.get(f"/v1.0/devices/{dev['id']}", token).status_code == 404


def test_next_link_paging(client):
    t = client.server.tenant
    for i in range(230):
        t.add_entra_device(f"PAGE-{i:03d}")
    token = client.graph_token()
    r = client.get("/v1.0/devices", token, params={"$filter": "startswith(displayName,'PAGE-')"})
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#devices") and len(body["value"]) == 100
    names = [d["displayName"] for d in body["value"]]
    link = body["@odata.nextLink"]
    assert link.startswith(client.url + "/v1.0/devices?") and "$skiptoken=" in link
    # delete something already returned while paging: nothing after it is skipped
    assert client.delete(f"/v1.0/devices/{body['value'][0]['id']}", token).status_code == 204
    pages = 1
    while link:
        body = client.session.get(link, headers={"Authorization": f"Bearer {token}"}, verify=client.ca, timeout=10).json()
        names += [d["displayName"] for d in body["value"]]
        link = body.get("@odata.nextLink")
        pages += 1
    assert pages == 3 and names == [f"PAGE-{i:03d}" for i in range(230)]
    small = client.get("/v1.0/devices", token, params={"$top": "5"}).json()
    assert len(small["value"]) == 5 and "$top=5" in small["@odata.nextLink"]
    assert client.get("/v1.0/devices", token, params={"$top": "1000"}).status_code == 400


def test_managed_devices(client, mac):
    token = client.graph_token("readonly")
    r = client.get(MANAGED, token, params={"$filter": f"serialNumber eq '{mac.serial}'"})
    [dev] = r.json()["value"]
    assert dev["managementAgent"] == "jamf" and dev["azureADDeviceId"] == mac.device_ids[0]
    assert dev["operatingSystem"] == "macOS" and dev["complianceState"] == "compliant"
    assert dev["userPrincipalName"] == mac.user_upn and dev["serialNumber"] == mac.serial
    assert client.get(f"{MANAGED}/{dev['id']}", token).json()["deviceName"] == mac.name
    by_aad = client.get(MANAGED, token, params={"$filter": f"azureADDeviceId eq '{mac.device_ids[0]}'"}).json()
    assert [d["id"] for d in by_aad["value"]] == [dev["id"]]
    by_name = client.get(MANAGED, token, params={"$filter": f"deviceName eq '{mac.name}'"}).json()
    assert [d["id"] for d in by_name["value"]] == [dev["id"]]
    # Intune ignores filters on properties it does not support and returns everything
    everything = client.get(MANAGED, token, params={"$filter": "notAProperty eq 'x'"}).json()["value"]
    assert len(everything) == len(client.server.tenant.intune) == 7


def test_ignore_managed_filter(client, mac):
    client.server.faults.ignore_managed_filter = True
    r = client.get(MANAGED, client.graph_token(), params={"$filter": f"serialNumber eq '{mac.serial}'"})
    values = r.json()["value"]
    assert len(values) == 7 and {v["operatingSystem"] for v in values} == {"macOS", "Windows", "iOS"}


def test_managed_delete_and_write_limit(client, mac):
    t = client.server.tenant
    ids = [t.add_intune_device(f"LIM{i:05d}", f"lim-{i}").id for i in range(4)]
    client.server.faults.intune_write_limit = 3
    client.server.faults.intune_window = 5
    token = client.graph_token()
    for iid in ids[:3]:
        assert client.delete(f"{MANAGED}/{iid}", token).status_code == 204
    r = client.delete(f"{MANAGED}/{ids[3]}", token)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 5
    assert r.json()["error"]["code"] == "TooManyRequests"
    assert ids[3] in t.intune
    assert client.get(f"{MANAGED}/{ids[0]}", token).status_code == 404


def test_roles(client, mac):
    t = client.server.tenant
    readonly = client.graph_token("readonly")
    [dev] = _devices(client, readonly, f"deviceId eq '{mac.device_ids[0]}'")
    for path in (f"/v1.0/devices/{dev['id']}", f"{MANAGED}/{t.intune_by_serial(mac.serial)[0].id}"):
        r = client.delete(path, readonly)
        assert r.status_code == 403
        assert r.json()["error"] == {
            **r.json()["error"],
            "code": "Authorization_RequestDenied",
            "message": "Insufficient privileges to complete the operation.",
        }
    t.add_graph_app("entra-only", ["Device.Read.All"])
    entra_only = client.graph_token("entra-only")
    assert client.get("/v1.0/devices", entra_only).status_code == 200
    assert client.get(MANAGED, entra_only).status_code == 403
    t.add_graph_app("directory", ["Directory.ReadWrite.All"])
    assert client.delete(f"/v1.0/devices/{dev['id']}", client.graph_token("directory")).status_code == 204


def test_authentication_errors(client):
    r = client.get("/v1.0/devices")
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert client.get("/v1.0/devices", "not-a-token").status_code == 401
    assert client.get("/v1.0/devices", client.jamf_token()).status_code == 401
    client.server.faults.graph_token_lifetime = 1
    token = client.graph_token()
    assert client.get("/v1.0/devices", token).status_code == 200
    time.sleep(1.05)
    r = client.get("/v1.0/devices", token)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Access token has expired or is not yet valid."


def test_consistency_delay(client, mac):
    client.server.faults.consistency_delay = 0.6
    token = client.graph_token()
    flt = {"$filter": f"deviceId eq '{mac.device_ids[0]}'"}
    [dev] = client.get("/v1.0/devices", token, params=flt).json()["value"]
    assert client.delete(f"/v1.0/devices/{dev['id']}", token).status_code == 204
    assert client.get(f"/v1.0/devices/{dev['id']}", token).status_code == 404
    assert client.delete(f"/v1.0/devices/{dev['id']}", token).status_code == 404
    assert [d["id"] for d in client.get("/v1.0/devices", token, params=flt).json()["value"]] == [dev["id"]]
    managed = client.server.tenant.intune_by_serial(mac.serial)[0]
    assert client.delete(f"{MANAGED}/{managed.id}", token).status_code == 204
    serial_filter = {"$filter": f"serialNumber eq '{mac.serial}'"}
    assert len(client.get(MANAGED, token, params=serial_filter).json()["value"]) == 1
    jamf = client.jamf_token()
    cid = client.server.tenant.jamf_by_serial(mac.serial)[0].id
    assert client.delete(f"/api/v1/computers-inventory/{cid}", jamf).status_code == 204
    inv = client.get("/api/v1/computers-inventory", jamf, params={"filter": f"hardware.serialNumber=={mac.serial}"}).json()
    assert inv["totalCount"] == 1
    time.sleep(0.65)
    assert client.get("/v1.0/devices", token, params=flt).json()["value"] == []
    assert client.get(MANAGED, token, params=serial_filter).json()["value"] == []
    assert client.get("/api/v1/computers-inventory", jamf, params={"filter": f"hardware.serialNumber=={mac.serial}"}).json()["totalCount"] == 0
