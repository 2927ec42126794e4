"""Graph v1.0 reads of the integration set-up (what ``cleanup diagnose`` asks), in the real shapes, with the
application permissions each endpoint accepts:

- ``servicePrincipals`` (``$filter`` on displayName/appId, ``startswith``), ``/{id}``, ``(appId='…')``,
  ``/{id}/appRoleAssignments`` — Application.Read.All
- ``subscribedSkus`` — Organization.Read.All (or LicenseAssignment.Read.All)
- ``users/{id | userPrincipalName}/licenseDetails`` — User.Read.All (or LicenseAssignment.Read.All)
- ``groups/{id}`` — Group.Read.All
- ``deviceManagement/deviceManagementPartners`` — DeviceManagementServiceConfig.Read.All
- ``deviceManagement/complianceManagementPartners`` — DeviceManagementServiceConfig.Read.All or higher (the
  reference's list: …ServiceConfig.ReadWrite.All, DeviceManagementConfiguration.Read.All, ….ReadWrite.All)
- ``deviceManagement/deviceCompliancePolicies`` (``$expand=assignments``) — DeviceManagementConfiguration.Read.All
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from urllib.parse import quote, unquote, urlencode

from cleanup.lab.tenant import odata
from cleanup.lab.tenant.graph_api import _denied, _not_found, _ok, _select
from cleanup.lab.tenant.records import iso
from cleanup.lab.tenant.wire import Request, Response, graph_error

_DIRECTORY = {"Directory.Read.All", "Directory.ReadWrite.All"}
_NEVER = "0001-01-01T00:00:00Z"  # Graph's "no date" in Intune's objects
APPLICATION_READ = {"Application.Read.All", "Application.ReadWrite.All"} | _DIRECTORY
SKU_READ = {"LicenseAssignment.Read.All", "Organization.Read.All", "Organization.ReadWrite.All"} | _DIRECTORY
LICENSE_READ = {"LicenseAssignment.Read.All", "User.Read.All", "User.ReadWrite.All"} | _DIRECTORY
GROUP_READ = {"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All"} | _DIRECTORY
SERVICE_CONFIG_READ = {"DeviceManagementServiceConfig.Read.All", "DeviceManagementServiceConfig.ReadWrite.All"}
CONFIGURATION_READ = {"DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All"}
COMPLIANCE_PARTNER_READ = SERVICE_CONFIG_READ | CONFIGURATION_READ

_SP_FILTERABLE = {"id", "appId", "displayName", "servicePrincipalType", "accountEnabled"}
_MS_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # Microsoft's own apps are owned by this tenant


def _context(svc, what: str) -> str:
    return f"{svc.url}/v1.0/$metadata#{what}"


def _page(svc, req: Request, path: str, views: list[dict], type_name: str, context: str, default_top: int = 100, max_top: int = 999) -> Response:
    """A collection page: ``$top``, an opaque ``$skiptoken`` (an offset here) and ``$select``."""
    try:
        top = int(req.arg("$top", str(default_top)))
    except ValueError:
        top = -1
    if not 1 <= top <= max_top:
        return graph_error(
            req, 400, "Request_UnsupportedQuery", f"Invalid page size specified: '{req.arg('$top')}'. Must be between 1 and {max_top} inclusive."
        )
    start = 0
    skiptoken = req.arg("$skiptoken")
    if skiptoken is not None:
        try:
            start = int(base64.urlsafe_b64decode(skiptoken + "==").decode())
        except ValueError:
            return graph_error(req, 400, "Request_BadRequest", "Invalid $skiptoken.")
    values = []
    for view in views[start : start + top]:
        selected, bad = _select(req, view, type_name)
        if bad:
            return bad
        values.append(selected)
    body: dict = {"@odata.context": context}
    if start + top < len(views):
        params = {k: v[0] for k, v in req.query.items() if k != "$skiptoken"}
        params["$skiptoken"] = base64.urlsafe_b64encode(str(start + top).encode()).decode().rstrip("=")
        body["@odata.nextLink"] = f"{svc.url}{path}?{urlencode(params, quote_via=quote, safe=chr(36) + chr(39))}"
    body["value"] = values
    return _ok(req, 200, body)


# -- service principals --------------------------------------------------------------------------------


def _sp_view(svc, sp: dict) -> dict:
    first_party = sp["appId"].startswith("00000003-") or sp["displayName"].startswith("Microsoft ")
    return {
        "id": sp["id"],
        "deletedDateTime": None,
        "accountEnabled": sp["accountEnabled"],
        "alternativeNames": [],
        "appDisplayName": sp["displayName"],
        "appDescription": None,
        "appId": sp["appId"],
        "appOwnerOrganizationId": _MS_TENANT if first_party else svc.tenant.tenant_id,
        "appRoleAssignmentRequired": False,
        "description": None,
        "displayName": sp["displayName"],
        "homepage": None,
        "notes": None,
        "servicePrincipalNames": [sp["appId"]],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs" if first_party else "AzureADMyOrg",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoles": [dict(r) for r in sp["appRoles"]],
        "oauth2PermissionScopes": [],
    }


def list_service_principals(svc, req: Request):
    denied = _denied(req, APPLICATION_READ)
    if denied:
        return denied
    node = None
    text = req.arg("$filter")
    if text is not None:
        try:
            node = odata.parse(text)
        except odata.FilterError as exc:
            return graph_error(req, 400, "BadRequest", f"Invalid filter clause: {exc}")
        unsupported = (odata.properties(node) - _SP_FILTERABLE) or (odata.functions(node) - {"startswith"})
        if unsupported:
            return graph_error(
                req,
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property '{sorted(unsupported)[0]}' of resource 'ServicePrincipal'.",
            )
    with svc.tenant.lock:
        views = [_sp_view(svc, sp) for sp in svc.tenant.directory.service_principals.values()]
    if node is not None:
        views = [v for v in views if odata.evaluate(node, v.get)]
    return _page(svc, req, "/v1.0/servicePrincipals", views, "servicePrincipal", _context(svc, "servicePrincipals"))


def _service_principal(svc, sp_id: str | None, app_id: str | None) -> dict | None:
    d = svc.tenant.directory
    with svc.tenant.lock:
        if app_id is not None:
            return d.by_app_id(unquote(app_id))
        assert sp_id is not None  # the routes name the service principal by one of the two
        return d.service_principals.get(unquote(sp_id).lower())


def _readable_service_principal(svc, req: Request, sp_id: str | None, app_id: str | None):
    """(service principal, None), or (None, the error answer: 403 without the permission, 404 if unknown)."""
    denied = _denied(req, APPLICATION_READ)
    if denied:
        return None, denied
    sp = _service_principal(svc, sp_id, app_id)
    return (sp, None) if sp is not None else (None, _not_found(req, sp_id or app_id or ""))


def get_service_principal(svc, req: Request, sp_id: str | None = None, app_id: str | None = None):
    sp, error = _readable_service_principal(svc, req, sp_id, app_id)
    if error:
        return error
    view, bad = _select(req, _sp_view(svc, sp), "servicePrincipal")
    return bad or _ok(req, 200, {"@odata.context": _context(svc, "servicePrincipals/$entity"), **view})


def list_app_role_assignments(svc, req: Request, sp_id: str | None = None, app_id: str | None = None):
    sp, error = _readable_service_principal(svc, req, sp_id, app_id)
    if error:
        return error
    with svc.tenant.lock:
        entries = [dict(a) for a in svc.tenant.directory.assignments.get(sp["id"], [])]
    views = [
        {
            "id": a["id"],
            "deletedDateTime": None,
            "appRoleId": a["appRoleId"],
            "createdDateTime": iso(a["created"]),
            "principalDisplayName": a["principalDisplayName"],
            "principalId": a["principalId"],
            "principalType": a["principalType"],
            "resourceDisplayName": a["resourceDisplayName"],
            "resourceId": a["resourceId"],
        }
        for a in entries
    ]
    return _page(
        svc,
        req,
        f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignments",
        views,
        "appRoleAssignment",
        _context(svc, f"servicePrincipals('{sp['id']}')/appRoleAssignments"),
    )


# -- licences ------------------------------------------------------------------------------------------


def _plans(sku: dict) -> list[dict]:
    return [{"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"} for pid, name in sku["plans"]]


def list_subscribed_skus(svc, req: Request):
    denied = _denied(req, SKU_READ)
    if denied:
        return denied
    if req.arg("$filter") is not None:
        return graph_error(req, 400, "Request_UnsupportedQuery", "Query filter expressions are not supported.")
    t = svc.tenant
    with t.lock:
        values = []
        for sku in t.directory.skus.values():
            units = {"enabled": 0, "lockedOut": 0, "suspended": 0, "warning": 0}
            units[{"Enabled": "enabled", "Warning": "warning", "Suspended": "suspended"}.get(sku["status"], "lockedOut")] = sku["prepaid"]
            values.append(
                {
                    "accountName": "Contoso",
                    "accountId": t.tenant_id,
                    "appliesTo": "User",
                    "capabilityStatus": sku["status"],
                    "consumedUnits": t.directory.consumed(sku["skuId"]),
                    "id": f"{t.tenant_id}_{sku['skuId']}",
                    "prepaidUnits": units,
                    "servicePlans": _plans(sku),
                    "skuId": sku["skuId"],
                    "skuPartNumber": sku["part"],
                    "subscriptionIds": [str(uuid.uuid5(uuid.NAMESPACE_URL, "subscription:" + sku["skuId"]))],
                }
            )
    return _ok(req, 200, {"@odata.context": _context(svc, "subscribedSkus"), "value": values})


def list_license_details(svc, req: Request, user: str):
    denied = _denied(req, LICENSE_READ)
    if denied:
        return denied
    key = unquote(user)
    with svc.tenant.lock:
        d = svc.tenant.directory
        found = d.user(key)
        skus = [d.skus[s] for s in found["skus"] if s in d.skus] if found else []
    if found is None:
        return _not_found(req, key)
    values = [
        {
            "id": base64.urlsafe_b64encode(f"{found['id']}:{s['skuId']}".encode()).decode().rstrip("="),
            "skuId": s["skuId"],
            "skuPartNumber": s["part"],
            "servicePlans": _plans(s),
        }
        for s in skus
    ]
    return _ok(req, 200, {"@odata.context": _context(svc, f"users('{key}')/licenseDetails"), "value": values})


# -- groups --------------------------------------------------------------------------------------------


def get_group(svc, req: Request, group_id: str):
    denied = _denied(req, GROUP_READ)
    if denied:
        return denied
    with svc.tenant.lock:
        g = svc.tenant.directory.groups.get(unquote(group_id).lower())
        g = dict(g) if g else None
    if g is None:
        return _not_found(req, group_id)
    view = {
        "id": g["id"],
        "deletedDateTime": None,
        "classification": None,
        "createdDateTime": iso(g["created"]),
        "creationOptions": [],
        "description": None,
        "displayName": g["displayName"],
        "expirationDateTime": None,
        "groupTypes": list(g["groupTypes"]),
        "isAssignableToRole": None,
        "mail": None,
        "mailEnabled": False,
        "mailNickname": re.sub(r"[^A-Za-z0-9]", "", g["displayName"]) or "group",
        "membershipRule": g["membershipRule"],
        "membershipRuleProcessingState": g["membershipRuleProcessingState"],
        "onPremisesSyncEnabled": None,
        "proxyAddresses": [],
        "renewedDateTime": iso(g["created"]),
        "securityEnabled": True,
        "visibility": None,
    }
    view, bad = _select(req, view, "group")
    return bad or _ok(req, 200, {"@odata.context": _context(svc, "groups/$entity"), **view})


# -- Intune: partner connection and compliance policies ------------------------------------------------


def list_partners(svc, req: Request):
    denied = _denied(req, SERVICE_CONFIG_READ)
    if denied:
        return denied
    now = time.time()
    with svc.tenant.lock:
        partners = [dict(p) for p in svc.tenant.directory.partners]
    values = [
        {
            "id": p["id"],
            "lastHeartbeatDateTime": iso(now - p["heartbeat_age"]) if p["heartbeat_age"] is not None else _NEVER,
            "partnerState": p["partnerState"],
            "partnerAppType": p["partnerAppType"],
            "singleTenantAppId": p["singleTenantAppId"],
            "displayName": p["displayName"],
            "isConfigured": p["isConfigured"],
            "whenPartnerDevicesWillBeRemovedDateTime": None,
            "whenPartnerDevicesWillBeMarkedAsNonCompliantDateTime": None,
            "groupsRequiringPartnerEnrollment": [],
        }
        for p in partners
    ]
    return _ok(req, 200, {"@odata.context": _context(svc, "deviceManagement/deviceManagementPartners"), "value": values})


def _assignments(group_ids: list[str]) -> list[dict]:
    return [
        {
            "@odata.type": "microsoft.graph.complianceManagementPartnerAssignment",
            "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": gid},
        }
        for gid in group_ids
    ]


def list_compliance_partners(svc, req: Request):
    denied = _denied(req, COMPLIANCE_PARTNER_READ)
    if denied:
        return denied
    now = time.time()
    with svc.tenant.lock:
        partners = [dict(p) for p in svc.tenant.directory.compliance_partners]
    values = [
        {
            "@odata.type": "#microsoft.graph.complianceManagementPartner",
            "id": p["id"],
            "lastHeartbeatDateTime": iso(now - p["heartbeat_age"]) if p["heartbeat_age"] is not None else _NEVER,
            "partnerState": p["partnerState"],
            "displayName": p["displayName"],
            "macOsOnboarded": p["macOsOnboarded"],
            "androidOnboarded": False,
            "iosOnboarded": False,
            "macOsEnrollmentAssignments": _assignments(p["mac_groups"]) if p["macOsOnboarded"] else [],
            "androidEnrollmentAssignments": [],
            "iosEnrollmentAssignments": [],
        }
        for p in partners
    ]
    return _ok(req, 200, {"@odata.context": _context(svc, "deviceManagement/complianceManagementPartners"), "value": values})


_POLICY_SETTINGS = {
    "#microsoft.graph.macOSCompliancePolicy": {
        "passwordRequired": True,
        "passwordBlockSimple": True,
        "passwordMinimumLength": 8,
        "osMinimumVersion": "14.0",
        "osMaximumVersion": None,
        "systemIntegrityProtectionEnabled": True,
        "deviceThreatProtectionEnabled": False,
        "storageRequireEncryption": True,
        "firewallEnabled": True,
        "gatekeeperAllowedAppSource": "macAppStoreAndIdentifiedDevelopers",
    },
    "#microsoft.graph.windows10CompliancePolicy": {
        "passwordRequired": True,
        "osMinimumVersion": "10.0.19045",
        "bitLockerEnabled": True,
        "secureBootEnabled": True,
        "storageRequireEncryption": True,
    },
}


def list_compliance_policies(svc, req: Request):
    denied = _denied(req, CONFIGURATION_READ)
    if denied:
        return denied
    expand = (req.arg("$expand") or "").strip()
    if expand not in ("", "assignments"):
        return graph_error(req, 400, "BadRequest", f"Could not find a navigation property named '{expand}'.")
    with svc.tenant.lock:
        policies = [dict(p, targets=list(p["targets"])) for p in svc.tenant.directory.policies]
    values = []
    for p in policies:
        view = {
            "@odata.type": p["@odata.type"],
            "id": p["id"],
            "createdDateTime": iso(p["created"]),
            "description": "",
            "lastModifiedDateTime": iso(p["created"]),
            "displayName": p["displayName"],
            "version": 1,
            **_POLICY_SETTINGS.get(p["@odata.type"], {}),
        }
        if expand:
            kind = p["@odata.type"].rsplit(".", 1)[-1]
            view["assignments@odata.context"] = _context(svc, f"deviceManagement/deviceCompliancePolicies('{p['id']}')/microsoft.graph.{kind}/assignments")
            view["assignments"] = [{"id": f"{p['id']}_{t.get('groupId') or 'all'}", "target": dict(t)} for t in p["targets"]]
        values.append(view)
    return _ok(req, 200, {"@odata.context": _context(svc, "deviceManagement/deviceCompliancePolicies"), "value": values})


def register(routes) -> None:
    routes.add("GET", "/v1.0/servicePrincipals", "graph")(list_service_principals)
    routes.add("GET", "/v1.0/servicePrincipals/{sp_id}", "graph")(get_service_principal)
    routes.add("GET", "/v1.0/servicePrincipals(appId='{app_id}')", "graph")(get_service_principal)
    routes.add("GET", "/v1.0/servicePrincipals/{sp_id}/appRoleAssignments", "graph")(list_app_role_assignments)
    routes.add("GET", "/v1.0/servicePrincipals(appId='{app_id}')/appRoleAssignments", "graph")(list_app_role_assignments)
    routes.add("GET", "/v1.0/subscribedSkus", "graph")(list_subscribed_skus)
    routes.add("GET", "/v1.0/users/{user}/licenseDetails", "graph")(list_license_details)
    routes.add("GET", "/v1.0/groups/{group_id}", "graph")(get_group)
    routes.add("GET", "/v1.0/deviceManagement/deviceManagementPartners", "graph")(list_partners)
    routes.add("GET", "/v1.0/deviceManagement/complianceManagementPartners", "graph")(list_compliance_partners)
    routes.add("GET", "/v1.0/deviceManagement/deviceCompliancePolicies", "graph")(list_compliance_policies)
