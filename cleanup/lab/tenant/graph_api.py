"""Microsoft Graph v1.0: Entra ``devices`` and Intune ``deviceManagement/managedDevices``.

Collections page by an opaque ``$skiptoken`` that remembers the last record returned (not an offset), so
deleting while paging skips nothing, as with the real service.
"""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote, unquote, urlencode

from cleanup.lab.tenant import odata
from cleanup.lab.tenant.jamf_api import guarded_delete
from cleanup.lab.tenant.wire import Request, Response, empty, graph_error, json_response

DEVICE_READ = {"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
DEVICE_WRITE = {"Device.ReadWrite.All", "Directory.ReadWrite.All"}
MANAGED_READ = {"DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All"}
MANAGED_WRITE = {"DeviceManagementManagedDevices.ReadWrite.All"}

MAX_OR_CLAUSES = 15  # the directory's limit on the clauses one 'or' joins (without advanced queries)
_DEVICE_FILTERABLE = {
    "id",
    "deviceId",
    "displayName",
    "operatingSystem",
    "operatingSystemVersion",
    "trustType",
    "accountEnabled",
    "profileType",
    "deviceOwnership",
    "isCompliant",
    "isManaged",
    "mdmAppId",  # eq, ne, not, startsWith (reference §1)
}
_MANAGED_FILTERABLE = {
    "id",
    "serialNumber",
    "deviceName",
    "azureADDeviceId",
    "operatingSystem",
    "managementAgent",
    "userPrincipalName",
    "complianceState",
    "model",
    "manufacturer",
}


def authenticate(svc, req: Request) -> Response | None:
    value = req.header("authorization") or ""
    token = value[7:].strip() if value[:7].lower() == "bearer " else ""
    if not token:
        return graph_error(req, 401, "InvalidAuthenticationToken", "Access token is empty.", {"WWW-Authenticate": 'Bearer realm=""'})
    grant, why = svc.tokens.check_graph(token)
    if grant is None:
        message = "Access token has expired or is not yet valid." if why == "expired" else "Access token validation failure. Invalid audience."
        return graph_error(req, 401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": 'Bearer realm=""'})
    req.auth = grant
    return None


def _denied(req: Request, allowed: set[str]) -> Response | None:
    if allowed & set(req.auth.roles):
        return None
    return graph_error(req, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _ok(req: Request, status: int, payload) -> Response:
    return json_response(status, payload, headers={"request-id": str(uuid.uuid4()), "client-request-id": req.header("client-request-id") or ""})


def _select(req: Request, view: dict, type_name: str) -> tuple[dict, Response | None]:
    text = req.arg("$select")
    if not text:
        return view, None
    props = [p.strip() for p in text.split(",") if p.strip()]
    for p in props:
        if p not in view:
            return view, graph_error(req, 400, "Request_BadRequest", f"Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'.")
    return {p: view[p] for p in props}, None


class _Kind:
    """What differs between the two collections."""

    def __init__(self, name, context, type_name, records, ghosts, view, filterable, indexes, default_top, max_top, unsupported_returns_all):
        self.name, self.context, self.type_name = name, context, type_name
        self.records, self.ghosts, self.view = records, ghosts, view
        self.filterable, self.indexes = filterable, indexes
        self.default_top, self.max_top = default_top, max_top
        self.unsupported_returns_all = unsupported_returns_all


def _devices_kind(t) -> _Kind:
    return _Kind(
        "devices",
        "devices",
        "device",
        t.entra,
        "entra",
        lambda r: r.view(),
        _DEVICE_FILTERABLE,
        {"deviceId": lambda v: [r for r in [t.entra_by_device_id(v)] if r], "displayName": t.entra_by_name, "id": lambda v: [r for r in [t.entra.get(v)] if r]},
        100,
        999,
        False,
    )


def _managed_kind(t) -> _Kind:
    return _Kind(
        "managedDevices",
        "deviceManagement/managedDevices",
        "managedDevice",
        t.intune,
        "intune",
        lambda r: r.view(),
        _MANAGED_FILTERABLE,
        {"serialNumber": t.intune_by_serial, "azureADDeviceId": t.intune_by_aad, "id": lambda v: [r for r in [t.intune.get(v)] if r]},
        1000,
        1000,
        True,
    )


def _skiptoken(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": seq, "v": 1}).encode()).decode().rstrip("=")


def _after(token: str) -> int | None:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["s"])
    except (ValueError, KeyError, TypeError):
        return None


def _collection(svc, req: Request, kind: _Kind) -> Response:
    t = svc.tenant
    try:
        top = int(req.arg("$top", str(kind.default_top)))
    except ValueError:
        top = -1
    if not 1 <= top <= kind.max_top:
        return graph_error(
            req,
            400,
            "Request_UnsupportedQuery" if kind.name == "devices" else "BadRequest",
            f"Invalid page size specified: '{req.arg('$top')}'. Must be between 1 and {kind.max_top} inclusive.",
        )
    after = 0
    skiptoken = req.arg("$skiptoken")
    if skiptoken is not None:
        seq = _after(skiptoken)
        if seq is None:
            return graph_error(req, 400, "Request_BadRequest", "Invalid $skiptoken.")
        after = seq
    node = None
    text = req.arg("$filter")
    if text is not None:
        try:
            node = odata.parse(text)
        except odata.FilterError as exc:
            return graph_error(req, 400, "BadRequest", f"Invalid filter clause: {exc}")
        clauses = odata.or_clauses(node)
        if kind.name == "devices" and clauses > MAX_OR_CLAUSES:
            return graph_error(
                req,
                400,
                "Request_UnsupportedQuery",
                f"Too many child clauses specified in search filter expression containing 'OR' operators: {clauses}. Max allowed: {MAX_OR_CLAUSES}.",
            )
        unsupported = (odata.properties(node) - kind.filterable) or (odata.functions(node) - {"startswith"})
        if unsupported or (kind.name == "managedDevices" and svc.faults.ignore_managed_filter):
            if not kind.unsupported_returns_all:
                return graph_error(
                    req,
                    400,
                    "Request_UnsupportedQuery",
                    f"Unsupported or invalid query filter clause specified for property '{sorted(unsupported)[0]}' of resource '{kind.type_name}'.",
                )
            node = None  # Intune ignores what it does not understand and returns everything
    with t.lock:
        ghosts = t.ghost_records(kind.ghosts)
        recs = None
        if node is not None:
            for prop, lookup in kind.indexes.items():
                values = odata.exact_values(node, prop)
                if values is not None:
                    recs = [r for v in values for r in lookup(v)]
                    break
        recs = list(kind.records.values()) if recs is None else recs
        recs = sorted((r for r in recs + ghosts if r.seq > after), key=lambda r: r.seq)
        views = [(r.seq, v) for r in recs for v in [kind.view(r)] if odata.evaluate(node, v.get)] if node is not None else [(r.seq, None) for r in recs]
        page, more = views[:top], len(views) > top
        by_seq = {r.seq: r for r in recs[:top]} if node is None else {}
        shown: list[tuple[int, dict]] = [(s, v if v is not None else kind.view(by_seq[s])) for s, v in page]
    rows = []
    for _, view in shown:
        selected, bad = _select(req, view, kind.type_name)
        if bad:
            return bad
        rows.append(selected)
    context = f"{svc.url}/v1.0/$metadata#{kind.context}"
    if req.arg("$select"):
        context += f"({req.arg('$select')})"
    body: dict = {"@odata.context": context}
    if req.arg("$count", "").lower() == "true":
        body["@odata.count"] = len(views) if after == 0 else None
    if more:
        params = {k: v[0] for k, v in req.query.items() if k != "$skiptoken"}
        params["$skiptoken"] = _skiptoken(shown[-1][0])
        path = "/v1.0/devices" if kind.name == "devices" else "/v1.0/deviceManagement/managedDevices"
        body["@odata.nextLink"] = f"{svc.url}{path}?{urlencode(params, quote_via=quote, safe=chr(36) + chr(39))}"
    body["value"] = rows
    return _ok(req, 200, body)


# -- devices -------------------------------------------------------------------------------------------


def list_devices(svc, req: Request):
    svc.tenant.settle_compliance()  # a Device Compliance registration turns compliant when Jamf has reported it
    return _denied(req, DEVICE_READ) or _collection(svc, req, _devices_kind(svc.tenant))


def _entra_record(svc, object_id: str | None = None, device_id: str | None = None):
    with svc.tenant.lock:
        if device_id is not None:
            return svc.tenant.entra_by_device_id(unquote(device_id))
        assert object_id is not None  # the routes name the device by one of the two
        return svc.tenant.entra.get(unquote(object_id))


def _not_found(req: Request, what: str) -> Response:
    return graph_error(
        req, 404, "Request_ResourceNotFound", f"Resource '{what}' does not exist or one of its queried reference-property objects are not present."
    )


def get_device(svc, req: Request, object_id: str | None = None, device_id: str | None = None):
    denied = _denied(req, DEVICE_READ)
    if denied:
        return denied
    svc.tenant.settle_compliance()
    rec = _entra_record(svc, object_id, device_id)
    if rec is None:
        return _not_found(req, object_id or device_id or "")
    view, bad = _select(req, rec.view(), "device")
    if bad:
        return bad
    return _ok(req, 200, {"@odata.context": f"{svc.url}/v1.0/$metadata#devices/$entity", **view})


def delete_device(svc, req: Request, object_id: str | None = None, device_id: str | None = None):
    denied = _denied(req, DEVICE_WRITE)
    if denied:
        return denied

    def apply() -> bool | str:
        rec = _entra_record(svc, object_id, device_id)
        return bool(rec) and svc.tenant.delete_entra(rec.id, svc.faults.consistency_delay)

    done = guarded_delete(svc, apply)
    if done is None:
        return graph_error(req, 503, "ServiceUnavailable", "Request interrupted.")
    if not done:
        return _not_found(req, object_id or device_id or "")
    return empty(204, {"request-id": str(uuid.uuid4())})


# -- managed devices -----------------------------------------------------------------------------------


def intune_error(svc, req: Request, status: int, code: str, managed_id: str, text: str = "An error has occurred", headers: dict | None = None) -> Response:
    """Intune's error body: ``error.message`` is itself a JSON document, as a string with CRLF line breaks."""
    inner = {
        "_version": 3,
        "Message": f"{text} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {uuid.uuid4()} - "
        f"Url: {svc.url}/StatelessDeviceFEService/deviceManagement/managedDevices('{managed_id}')?api-version=2026-10-01",
        "CustomApiErrorPhrase": "",
        "RetryAfter": None,
        "ErrorSourceService": "",
        "HttpHeaders": "{}",
    }
    return graph_error(req, status, code, json.dumps(inner, indent=2).replace("\n", "\r\n"), headers)


def list_managed(svc, req: Request):
    return _denied(req, MANAGED_READ) or _collection(svc, req, _managed_kind(svc.tenant))


def get_managed(svc, req: Request, managed_id: str):
    denied = _denied(req, MANAGED_READ)
    if denied:
        return denied
    with svc.tenant.lock:
        rec = svc.tenant.intune.get(unquote(managed_id))
        view = rec.view() if rec else None
    if view is None:
        return intune_error(svc, req, 404, "ResourceNotFound", managed_id)
    view, bad = _select(req, view, "managedDevice")
    if bad:
        return bad
    return _ok(req, 200, {"@odata.context": f"{svc.url}/v1.0/$metadata#deviceManagement/managedDevices/$entity", **view})


def delete_managed(svc, req: Request, managed_id: str):
    denied = _denied(req, MANAGED_WRITE)
    if denied:
        return denied
    wait = svc.intune_write(req.auth.client_id)
    if wait:
        return intune_error(svc, req, 429, "TooManyRequests", managed_id, "Too many requests: Intune write limit reached", {"Retry-After": str(wait)})
    done = guarded_delete(svc, lambda: svc.tenant.delete_intune(unquote(managed_id), svc.faults.consistency_delay))
    if done is None:
        return graph_error(req, 503, "ServiceUnavailable", "Request interrupted.")
    if not done:
        return intune_error(svc, req, 404, "ResourceNotFound", managed_id)
    return empty(204, {"request-id": str(uuid.uuid4())})


def register(routes) -> None:
    from cleanup.lab.tenant import deleted_items_api
    from cleanup.lab.tenant.batch import batch

    routes.add("GET", "/v1.0/devices", "graph")(list_devices)
    routes.add("GET", "/v1.0/devices/{object_id}", "graph")(get_device)
    routes.add("DELETE", "/v1.0/devices/{object_id}", "graph")(delete_device)
    routes.add("GET", "/v1.0/devices(deviceId='{device_id}')", "graph")(get_device)
    routes.add("DELETE", "/v1.0/devices(deviceId='{device_id}')", "graph")(delete_device)
    routes.add("GET", "/v1.0/deviceManagement/managedDevices", "graph")(list_managed)
    routes.add("GET", "/v1.0/deviceManagement/managedDevices/{managed_id}", "graph")(get_managed)
    routes.add("DELETE", "/v1.0/deviceManagement/managedDevices/{managed_id}", "graph")(delete_managed)
    routes.add("POST", "/v1.0/$batch", "graph")(batch)
    deleted_items_api.register(routes)
