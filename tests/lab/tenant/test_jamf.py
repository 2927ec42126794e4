"""Jamf Pro API: authentication, inventory (RSQL, paging, sections), delete, commands, groups, Classic API."""

from __future__ import annotations

import time

import pytest


def _basic_token(client, name="admin"):
    user = client.creds["jamf_users"][name]
    return client.post("/api/v1/auth/token", auth=(user["username"], user["password"]))


def _inventory(client, token, **params):
    r = client.get("/api/v1/computers-inventory", token, params=params)
    return r


# -- authentication -----------------------------------------------------------------------------------


def test_oauth_client_credentials(client):
    c = client.creds["jamf_clients"]["full"]
    r = client.post("/api/oauth/token", data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]})
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "Bearer"
    assert body["scope"] == "api-role:1" and body["expires_in"] == 599
    r = client.post("/api/oauth/token", data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": "wrong"})
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}


def test_basic_token_keep_alive_and_invalidate(client):
    r = _basic_token(client)
    assert r.status_code == 200 and r.json()["expires"].endswith("Z")
    first = r.json()["token"]
    assert client.get("/api/v1/auth", first).json()["account"]["username"] == "lab-admin"
    r = client.post("/api/v1/auth/keep-alive", first)
    second = r.json()["token"]
    assert r.status_code == 200 and second != first
    r = client.get("/api/v1/auth", first)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "INVALID_TOKEN"
    assert client.post("/api/v1/auth/invalidate-token", second).status_code == 204
    assert client.get("/api/v1/computers-inventory", second).status_code == 401


def test_wrong_password(client):
    user = client.creds["jamf_users"]["admin"]
    r = client.post("/api/v1/auth/token", auth=(user["username"], "bad"))
    assert r.status_code == 401 and r.json()["httpStatus"] == 401


def test_auth_details_user_vs_api_client(client):
    body = client.get("/api/v1/auth", _basic_token(client, "readonly").json()["token"]).json()
    assert body["authenticationType"] == "JSS" and body["account"]["privilegeSet"] == "CUSTOM"
    assert "Delete Computers" not in body["account"]["privileges"]
    assert client.get("/api/v1/auth", client.jamf_token()).status_code == 403


def test_api_roles(client):
    token = client.jamf_token("readonly")
    role = client.get("/api/v1/api-roles/2", token).json()
    assert role["id"] == "2" and "Read Computers" in role["privileges"] and "Delete Computers" not in role["privileges"]
    assert client.get("/api/v1/api-roles/99", token).status_code == 404
    client.server.tenant.api_roles["2"]["privileges"].remove("Read API Roles")
    assert client.get("/api/v1/api-roles/2", token).status_code == 403


def test_missing_and_expired_tokens(client):
    r = client.get("/api/v1/computers-inventory")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "INVALID_TOKEN"
    assert client.get("/JSSResource/computers/serialnumber/X", "garbage").status_code == 401
    client.server.faults.jamf_token_lifetime = 1
    token = client.jamf_token()
    assert client.get("/api/v1/computer-groups", token).status_code == 200
    time.sleep(1.05)
    assert client.get("/api/v1/computer-groups", token).status_code == 401


# -- inventory -----------------------------------------------------------------------------------------


@pytest.fixture
def jamf(client):
    t = client.server.tenant
    t.add_jamf_computer("C02AAA111111", 'Lab "Quoted" Mac')
    t.add_jamf_computer("C02AAA222222", "lab-mac-2")
    return client, client.jamf_token()


def test_rsql_exact_serial_and_sections(jamf, mac):
    client, token = jamf
    r = _inventory(client, token, section=["GENERAL", "HARDWARE"], filter=f'hardware.serialNumber=="{mac.serial}"')
    body = r.json()
    assert r.status_code == 200 and body["totalCount"] == 1
    rec = body["results"][0]
    assert isinstance(rec["id"], str) and rec["udid"]
    assert rec["hardware"]["serialNumber"] == mac.serial and rec["general"]["name"] == mac.name
    assert rec["general"]["remoteManagement"]["managed"] is True and rec["general"]["managementId"]
    assert rec["userAndLocation"] is None and rec["groupMemberships"] is None
    assert r.text.startswith("{\n")  # Jamf pretty-prints


def test_rsql_operators(jamf, mac):
    client, token = jamf

    def serials(expr):
        r = _inventory(client, token, section="HARDWARE", filter=expr, **{"page-size": 100})
        assert r.status_code == 200, r.text
        return sorted(x["hardware"]["serialNumber"] for x in r.json()["results"])

    assert serials("hardware.serialNumber==C02AAA*") == ["C02AAA111111", "C02AAA222222"]
    assert serials("hardware.serialNumber==*111") == ["C02AAA111111"]
    assert serials('general.name=="Lab \\"Quoted\\" Mac"') == ["C02AAA111111"]
    assert serials("hardware.serialNumber==c02aaa111111") == ["C02AAA111111"]  # case-insensitive
    assert serials("hardware.serialNumber==C02AAA111111,hardware.serialNumber==C02AAA222222") == ["C02AAA111111", "C02AAA222222"]
    assert serials("hardware.serialNumber==C02AAA*;general.name==lab-mac-2") == ["C02AAA222222"]
    assert serials("hardware.serialNumber=in=(C02AAA111111,C02AAA222222)") == ["C02AAA111111", "C02AAA222222"]
    assert mac.serial not in serials("hardware.serialNumber!=" + mac.serial)
    # the look-alike serial (last character differs) does not match the exact filter
    assert serials(f"hardware.serialNumber=={mac.serial}") == [mac.serial]


@pytest.mark.parametrize(
    "expr", ["hardware.serialNumber=", "hardware.serialNumber==", "(general.name==a", 'general.name=="unterminated', "nosuchfield==1", "==x"]
)
def test_rsql_malformed(jamf, expr):
    client, token = jamf
    r = _inventory(client, token, filter=expr)
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"].startswith("INVALID_RSQL_FILTER")


def test_paging_and_sort(client):
    client.server.tenant.add_flagged_macs(25, prefix="PGX")
    token = client.jamf_token()
    seen = []
    for page in range(3):
        body = _inventory(
            client, token, section="HARDWARE", filter="hardware.serialNumber==PGX*", page=page, sort="hardware.serialNumber:desc", **{"page-size": 10}
        ).json()
        assert body["totalCount"] == 25
        seen += [x["hardware"]["serialNumber"] for x in body["results"]]
    assert len(seen) == 25 and seen == sorted(seen, reverse=True)
    assert _inventory(client, token, **{"page-size": 2001}).status_code == 400
    assert _inventory(client, token, section="NOPE").status_code == 400
    default = _inventory(client, token).json()
    assert default["results"][0]["general"] is not None and default["results"][0]["hardware"] is None


def test_detail_and_404(jamf, mac):
    client, token = jamf
    cid = client.server.tenant.jamf_by_serial(mac.serial)[0].id
    for path in (f"/api/v1/computers-inventory/{cid}", f"/api/v1/computers-inventory-detail/{cid}"):
        body = client.get(path, token).json()
        assert body["hardware"]["serialNumber"] == mac.serial
        accounts = body["localUserAccounts"]
        assert accounts[0]["computerAzureActiveDirectoryId"] == mac.device_ids[0]
        assert accounts[0]["azureActiveDirectoryId"] == "ACTIVATED"
        assert {g["groupName"] for g in body["groupMemberships"]} >= {"All Managed Clients"}
    r = client.get("/api/v1/computers-inventory/999999", token)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "INVALID_ID"


def test_delete_needs_privilege_and_is_idempotent_404(jamf, mac):
    client, token = jamf
    cid = client.server.tenant.jamf_by_serial(mac.serial)[0].id
    r = client.delete(f"/api/v1/computers-inventory/{cid}", client.jamf_token("readonly"))
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "INVALID_PRIVILEGE"
    assert client.delete(f"/api/v1/computers-inventory/{cid}", token).status_code == 204
    assert client.delete(f"/api/v1/computers-inventory/{cid}", token).status_code == 404
    assert client.get(f"/api/v1/computers-inventory/{cid}", token).status_code == 404
    assert any(d["service"] == "jamf" and d["id"] == cid for d in client.lab_state()["deleted"])


def test_remove_mdm_profile(jamf, mac):
    client, token = jamf
    cid = client.server.tenant.jamf_by_serial(mac.serial)[0].id
    r = client.post(f"/api/v1/computer-inventory/{cid}/remove-mdm-profile", token)
    assert r.status_code == 201 and r.json()["deviceId"] == cid and r.json()["commandUuid"]
    assert client.server.tenant.mdm_commands[0]["deviceId"] == cid
    assert client.post(f"/api/v1/computer-inventory/{cid}/remove-mdm-profile", client.jamf_token("readonly")).status_code == 403
    assert client.post("/api/v1/computer-inventory/424242/remove-mdm-profile", token).status_code == 404


def test_groups_and_classic_api(jamf, mac):
    client, token = jamf
    groups = client.get("/api/v1/computer-groups", token).json()
    assert isinstance(groups, list) and {"id": "3", "name": "Cause6 Remediation", "smartGroup": False} in groups
    r = client.get("/JSSResource/computergroups/name/All%20Managed%20Clients", token, headers={"Accept": "application/json"})
    group = r.json()["computer_group"]
    assert group["is_smart"] is True and isinstance(group["id"], int)
    assert mac.serial in {c["serial_number"] for c in group["computers"]}
    assert client.get("/JSSResource/computergroups/name/Nope", token).status_code == 404
    r = client.get(f"/JSSResource/computers/serialnumber/{mac.serial}", token, headers={"Accept": "application/json"})
    general = r.json()["computer"]["general"]
    assert general["serial_number"] == mac.serial and isinstance(general["id"], int)
    assert general["remote_management"]["managed"] is True
    assert client.delete(f"/JSSResource/computers/id/{general['id']}", token).status_code == 200
    assert client.get(f"/JSSResource/computers/serialnumber/{mac.serial}", token).status_code == 404
    assert client.delete(f"/JSSResource/computers/id/{general['id']}", token).status_code == 404
