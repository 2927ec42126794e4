"""Jamf Pro API and the few Classic API endpoints cleanup uses.

Classic API bodies for errors and for ``DELETE /JSSResource/computers/id/{id}`` are *unconfirmed*: the
emulator answers a small HTML page for Classic 404s and ``<computer><id>N</id></computer>`` for the delete.

The inventory routes exist as v1, v3 and v4 (one handler each, told its API version); which of them a server
serves depends on its version (:mod:`cleanup.lab.tenant.jamf_versions`, applied by the service).
"""

from __future__ import annotations

import base64
import binascii
from functools import partial
from urllib.parse import unquote

from cleanup.lab.tenant import escrowed, inventory, jamf_versions
from cleanup.lab.tenant.records import iso
from cleanup.lab.tenant.wire import Request, Response, empty, jamf_error, json_response


def _bearer(req: Request) -> str:
    value = req.header("authorization") or ""
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


def _principal(svc, grant) -> dict | None:
    if grant.kind == "client":
        return svc.tenant.jamf_clients.get(grant.principal)
    return svc.tenant.jamf_users.get(grant.principal)


def authenticate(svc, req: Request) -> Response | None:
    """Sets ``req.auth = (grant, privileges)`` or answers 401 INVALID_TOKEN."""
    token = _bearer(req)
    grant = svc.tokens.check_jamf(token) if token else None
    with svc.tenant.lock:
        principal = _principal(svc, grant) if grant else None
        if grant is None or principal is None:
            return jamf_error(401, "INVALID_TOKEN", "Unauthorized")
        privileges = svc.tenant.jamf_client_privileges(principal) if grant.kind == "client" else list(principal["privileges"])
    req.auth = (grant, set(privileges))
    return None


def _denied(req: Request, *needed: str) -> Response | None:
    """403 unless the caller holds one of ``needed``."""
    if any(p in req.auth[1] for p in needed):
        return None
    return jamf_error(403, "INVALID_PRIVILEGE", "Forbidden")


# -- authentication -----------------------------------------------------------------------------------


def oauth_token(svc, req: Request):
    form = req.form()
    if form.get("grant_type") != "client_credentials":
        return json_response(400, {"error": "unsupported_grant_type"})
    with svc.tenant.lock:
        client = svc.tenant.jamf_client_by_id(form.get("client_id", ""))
        name = next((n for n, c in svc.tenant.jamf_clients.items() if c is client), "")
    if client is None or form.get("client_secret") != client["client_secret"]:
        return json_response(401, {"error": "invalid_client"})
    lifetime = int(svc.faults.jamf_token_lifetime)
    token, _ = svc.tokens.issue_jamf("client", name, lifetime)
    scope = " ".join(f"api-role:{r}" for r in client["role_ids"])
    return json_response(200, {"access_token": token, "scope": scope, "token_type": "Bearer", "expires_in": lifetime})


def _user_token(svc, name: str):
    token, expires = svc.tokens.issue_jamf("user", name, svc.faults.jamf_user_token_lifetime)
    return json_response(200, {"token": token, "expires": iso(expires, True)}, pretty=True)


def basic_token(svc, req: Request):
    value = req.header("authorization") or ""
    username = password = None
    if value[:6].lower() == "basic ":
        try:
            username, _, password = base64.b64decode(value[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            pass
    with svc.tenant.lock:
        name = next((n for n, u in svc.tenant.jamf_users.items() if u["username"] == username and u["password"] == password), None)
    if name is None:
        return jamf_error(401, "INVALID_CREDENTIALS", "Unauthorized")
    return _user_token(svc, name)


def keep_alive(svc, req: Request):
    grant = req.auth[0]
    if grant.kind != "user":
        return jamf_error(403, "INVALID_TOKEN_TYPE", "Keep-alive is not available for API client tokens")
    svc.tokens.revoke_jamf(_bearer(req))
    return _user_token(svc, grant.principal)


def invalidate(svc, req: Request):
    svc.tokens.revoke_jamf(_bearer(req))
    return empty(204)


def auth_details(svc, req: Request):
    grant = req.auth[0]
    if grant.kind != "user":
        return jamf_error(403, "ACCESS_DENIED", "API clients have no account details")
    with svc.tenant.lock:
        user = svc.tenant.jamf_users[grant.principal]
        account = {
            "id": str(list(svc.tenant.jamf_users).index(grant.principal) + 1),
            "username": user["username"],
            "realName": user["username"],
            "email": "",
            "preferences": {},
            "multiSiteAdmin": True,
            "accessLevel": "FullAccess",
            "privilegeSet": "CUSTOM",
            "privileges": list(user["privileges"]),
            "groupIds": [],
            "currentSiteId": -1,
        }
    return json_response(200, {"account": account, "accountGroups": [], "sites": [], "authenticationType": "JSS"}, pretty=True)


def api_role(svc, req: Request, role_id: str):
    denied = _denied(req, "Read API Roles")
    if denied:
        return denied
    with svc.tenant.lock:
        role = svc.tenant.api_roles.get(role_id)
        body = dict(role, privileges=list(role["privileges"])) if role else None
    if body is None:
        return jamf_error(404, "INVALID_ID", f"API Role with id {role_id} does not exist")
    return json_response(200, body, pretty=True)


def jamf_pro_version(svc, req: Request):
    """``{"version": "11.30.0-t…"}``; any valid token, no privilege."""
    return json_response(200, {"version": jamf_versions.reported(svc.jamf_version)}, pretty=True)


# -- inventory ----------------------------------------------------------------------------------------


def list_inventory(svc, req: Request, api: int = 1):
    denied = _denied(req, "Read Computers")
    if denied:
        return denied
    try:
        query = inventory.InventoryQuery.from_request(req, api)
    except inventory.QueryError as exc:
        return jamf_error(400, exc.code, str(exc), field_name=exc.field)
    with svc.tenant.lock:
        total, page = inventory.run_query(svc.tenant, query)
    return json_response(200, {"totalCount": total, "results": page}, pretty=True)


def one_computer(svc, req: Request, cid: str, api: int = 1):
    denied = _denied(req, "Read Computers")
    if denied:
        return denied
    with svc.tenant.lock:
        rec = svc.tenant.jamf.get(cid)
        body = inventory.api_view(inventory.render(svc.tenant, rec, inventory.ALL_SECTIONS), api) if rec else None
    if body is None:
        return jamf_error(404, "INVALID_ID", f"Computer with id {cid} does not exist")
    return json_response(200, body, pretty=True)


def guarded_delete(svc, apply) -> bool | None:
    """Run ``apply()`` under the kill-on-delete hook; None means "killed before applying"."""
    when = svc.count_delete()
    if when == "before":
        svc.kill_target()
        return None
    applied = apply()
    if when == "after":
        svc.kill_target()
    return applied


def delete_computer(svc, req: Request, cid: str):
    denied = _denied(req, "Delete Computers")
    if denied:
        return denied
    done = guarded_delete(svc, lambda: svc.tenant.delete_jamf(cid, svc.faults.consistency_delay))
    if done is None:
        return jamf_error(503, "SERVICE_UNAVAILABLE", "Request interrupted")
    if not done:
        return jamf_error(404, "INVALID_ID", f"Computer with id {cid} does not exist")
    return empty(204)


def remove_mdm_profile(svc, req: Request, cid: str):
    denied = _denied(req, "Send Computer Unmanage Command")
    if denied:
        return denied
    with svc.tenant.lock:
        if cid not in svc.tenant.jamf:
            return jamf_error(404, "INVALID_ID", f"Computer with id {cid} does not exist")
        entry = svc.tenant.record_mdm_command(cid, "REMOVE_MDM_PROFILE")
    return json_response(201, {"deviceId": cid, "commandUuid": entry["commandUuid"]}, pretty=True)


def remove_mdm_profile_v4(svc, req: Request, cid: str):
    """The v4 route: same privilege (S38). Its answer is not captured: v1's body by default [I], or, with
    ``svc.v4_remove_mdm_answer = "empty"``, 204 without a body (the other outcome the client must handle)."""
    answer = remove_mdm_profile(svc, req, cid)
    if answer.status == 201 and svc.v4_remove_mdm_answer == "empty":
        return empty(204)
    return answer


# -- escrowed secrets (lab.tenant.escrowed) ------------------------------------------------------------


def filevault(svc, req: Request, cid: str):
    denied = _denied(req, escrowed.FILEVAULT_PRIVILEGE)
    if denied:
        return denied
    with svc.tenant.lock:
        rec = svc.tenant.jamf.get(cid)
        if rec is None:
            return jamf_error(404, "INVALID_ID", f"Computer with id {cid} does not exist")
        secrets = svc.tenant.escrow.of(cid)
        if secrets.filevault_key:
            svc.tenant.escrow.viewed("filevault", cid)
        body = {
            "computerId": cid,
            "name": rec.name,
            "personalRecoveryKey": secrets.filevault_key,
            "bootPartitionEncryptionDetails": dict(inventory.BOOT_PARTITION),
            "individualRecoveryKeyValidityStatus": secrets.filevault_status,
            "institutionalRecoveryKeyPresent": False,
            "diskEncryptionConfigurationName": "",
        }
    return json_response(200, body, pretty=True)


def recovery_lock(svc, req: Request, cid: str):
    denied = _denied(req, escrowed.RECOVERY_LOCK_PRIVILEGE)
    if denied:
        return denied
    with svc.tenant.lock:
        if cid not in svc.tenant.jamf:
            return jamf_error(404, "INVALID_ID", f"Computer with id {cid} does not exist")
        password = svc.tenant.escrow.of(cid).recovery_lock
        if password is None:
            return jamf_error(404, "NOT_FOUND", f"Recovery Lock password for computer with id {cid} not found")
        svc.tenant.escrow.viewed("recovery-lock", cid)
    return json_response(200, {"recoveryLockPassword": password}, pretty=True)


def _computer_by_management_id(tenant, mid: str):
    return next((c for c in tenant.jamf.values() if c.management_id == mid), None)


def laps_accounts(svc, req: Request, mid: str):
    denied = _denied(req, escrowed.LAPS_PRIVILEGE)
    if denied:
        return denied
    with svc.tenant.lock:
        rec = _computer_by_management_id(svc.tenant, mid)
        if rec is None:
            return jamf_error(404, "INVALID_ID", f"Client management id {mid} does not exist")
        names = list(svc.tenant.escrow.of(rec.id).laps)
    results = [{"clientManagementId": mid, "guid": "", "username": n, "userSource": "MDM"} for n in names]
    return json_response(200, {"totalCount": len(results), "results": results}, pretty=True)


def laps_password(svc, req: Request, mid: str, username: str):
    denied = _denied(req, escrowed.LAPS_PRIVILEGE)
    if denied:
        return denied
    with svc.tenant.lock:
        rec = _computer_by_management_id(svc.tenant, mid)
        password = svc.tenant.escrow.show_laps(rec.id, unquote(username)) if rec else None
    if password is None:
        return jamf_error(404, "INVALID_ID", f"No local admin account {unquote(username)} for client management id {mid}")
    return json_response(200, {"password": password}, pretty=True)


def computer_groups(svc, req: Request):
    denied = _denied(req, "Read Smart Computer Groups", "Read Static Computer Groups")
    if denied:
        return denied
    with svc.tenant.lock:
        groups = [dict(g) for g in svc.tenant.groups.values()]
    return json_response(200, groups, pretty=True)


# -- Classic API --------------------------------------------------------------------------------------


def _classic_404() -> Response:
    html = "<html><head><title>Status page</title></head><body><p>Not Found</p><p>The server has not found anything matching the request URI</p></body></html>"
    return Response(404, html.encode(), {"Content-Type": "text/html;charset=UTF-8"})


def classic_group(svc, req: Request, name: str):
    name = unquote(name)
    with svc.tenant.lock:
        group = next((g for g in svc.tenant.groups.values() if g["name"] == name), None)
        return _classic_404() if group is None else group_answer(svc, req, group)


def group_answer(svc, req: Request, group: dict) -> Response:
    """A Classic computer group with its members (the caller holds the tenant's lock)."""
    denied = _denied(req, "Read Smart Computer Groups" if group["smartGroup"] else "Read Static Computer Groups")
    if denied:
        return denied
    members = [
        {
            "id": int(c.id) if c.id.isdigit() else c.id,
            "name": c.name,
            "serial_number": c.serial,
            "mac_address": c.mac_address,
            "alt_mac_address": c.alt_mac_address,
        }
        for c in svc.tenant.jamf.values()
        if group["id"] in c.groups
    ]
    body = {
        "computer_group": {
            "id": int(group["id"]),
            "name": group["name"],
            "is_smart": group["smartGroup"],
            "site": {"id": -1, "name": "None"},
            "criteria": [],
            "computers": members,
        }
    }
    return json_response(200, body)


def classic_by_serial(svc, req: Request, serial: str):
    denied = _denied(req, "Read Computers")
    if denied:
        return denied
    with svc.tenant.lock:
        recs = svc.tenant.jamf_by_serial(unquote(serial))
        if not recs:
            return _classic_404()
        c = recs[0]
        general = {
            "id": int(c.id) if c.id.isdigit() else c.id,
            "name": c.name,
            "serial_number": c.serial,
            "udid": c.udid,
            "mac_address": c.mac_address,
            "alt_mac_address": c.alt_mac_address,
            "remote_management": {"managed": c.managed, "management_username": "jamfadmin"},
            "mdm_capable": c.mdm_capable,
            "report_date_epoch": int(c.report_date * 1000),
            "last_contact_time_epoch": int(c.last_contact * 1000),
            "management_id": c.management_id,
        }
    return json_response(200, {"computer": {"general": general}})


def classic_delete(svc, req: Request, cid: str):
    denied = _denied(req, "Delete Computers")
    if denied:
        return denied
    done = guarded_delete(svc, lambda: svc.tenant.delete_jamf(cid, svc.faults.consistency_delay, via="classic"))
    if done is None:
        return jamf_error(503, "SERVICE_UNAVAILABLE", "Request interrupted")
    if not done:
        return _classic_404()
    body = f'<?xml version="1.0" encoding="UTF-8"?><computer><id>{cid}</id></computer>'
    return Response(200, body.encode(), {"Content-Type": "text/xml;charset=UTF-8"})


def register(routes) -> None:
    from cleanup.lab.tenant import jamf_groups_api

    routes.add("POST", "/api/oauth/token", "jamf_token")(oauth_token)
    routes.add("POST", "/api/v1/auth/token", "jamf_token")(basic_token)
    routes.add("POST", "/api/v1/auth/keep-alive", "jamf")(keep_alive)
    routes.add("POST", "/api/v1/auth/invalidate-token", "jamf")(invalidate)
    routes.add("GET", "/api/v1/auth", "jamf")(auth_details)
    routes.add("GET", "/api/v1/api-roles/{role_id}", "jamf")(api_role)
    routes.add("GET", "/api/v1/jamf-pro-version", "jamf")(jamf_pro_version)
    for api in (1, 3, 4):  # which of them a version serves: jamf_versions.TABLE
        base = f"/api/v{api}/computers-inventory"
        routes.add("GET", base, "jamf")(partial(list_inventory, api=api))
        routes.add("GET", base + "/{cid}", "jamf")(partial(one_computer, api=api))
        routes.add("GET", base + "-detail/{cid}", "jamf")(partial(one_computer, api=api))
        routes.add("DELETE", base + "/{cid}", "jamf")(delete_computer)
        routes.add("GET", base + "/{cid}/filevault", "jamf")(filevault)
        routes.add("GET", base + "/{cid}/view-recovery-lock-password", "jamf")(recovery_lock)
    routes.add("POST", "/api/v1/computer-inventory/{cid}/remove-mdm-profile", "jamf")(remove_mdm_profile)
    routes.add("POST", "/api/v4/computers-inventory/{cid}/remove-mdm-profile", "jamf")(remove_mdm_profile_v4)
    routes.add("GET", "/api/v2/local-admin-password/{mid}/accounts", "jamf")(laps_accounts)
    routes.add("GET", "/api/v2/local-admin-password/{mid}/account/{username}/password", "jamf")(laps_password)
    routes.add("GET", "/api/v1/computer-groups", "jamf")(computer_groups)
    routes.add("GET", "/JSSResource/computergroups/name/{name}", "jamf")(classic_group)
    jamf_groups_api.register(routes)  # groups by id: read, static members added or removed
    routes.add("GET", "/JSSResource/computers/serialnumber/{serial}", "jamf")(classic_by_serial)
    routes.add("DELETE", "/JSSResource/computers/id/{cid}", "jamf")(classic_delete)
