"""Microsoft Graph's deleted items for Entra devices (device soft delete, a preview in 2026).

A soft-deleted device answers 404 to every read of ``/devices`` while its deviceId stays reserved (see
``Directory``). Its list is ``GET /beta/directory/deletedItems/microsoft.graph.device``; one item and its restore
(``POST …/deletedItems/{id}/restore`` -> 200 and the object) are served on beta and v1.0. Reading needs a device
read permission; restoring needs ``Device.ReadWrite.All`` and one of the directory roles Microsoft names
(Cloud Device Administrator, Intune Administrator, Global Administrator) held by the app.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote

from cleanup.lab.tenant.records import iso
from cleanup.lab.tenant.wire import Request, Response, graph_error, json_response

DEVICE_READ = {"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
DEVICE_WRITE = {"Device.ReadWrite.All", "Directory.ReadWrite.All"}


def _denied(req: Request, allowed: set[str]) -> Response | None:
    if allowed & set(req.auth.roles):
        return None
    return graph_error(req, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _ok(req: Request, payload: dict) -> Response:
    return json_response(200, payload, headers={"request-id": str(uuid.uuid4()), "client-request-id": req.header("client-request-id") or ""})


def _view(at: float, device) -> dict:
    return {**device.view(), "deletedDateTime": iso(at)}


def _not_found(req: Request, object_id: str) -> Response:
    return graph_error(
        req, 404, "Request_ResourceNotFound", f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present."
    )


def list_deleted_devices(svc, req: Request):
    denied = _denied(req, DEVICE_READ)
    if denied:
        return denied
    with svc.tenant.lock:
        directory = svc.tenant.directory
        directory.expire_deleted()
        items = sorted(directory.deleted_devices.values(), key=lambda item: item[1].seq)
        rows = [_view(at, dev) for at, dev in items]
    return _ok(req, {"@odata.context": f"{svc.url}/beta/$metadata#directory/deletedItems/microsoft.graph.device", "value": rows})


def get_deleted(svc, req: Request, version: str, object_id: str):
    denied = _denied(req, DEVICE_READ)
    if denied:
        return denied
    with svc.tenant.lock:
        found = svc.tenant.directory.deleted_device(unquote(object_id))
        view = _view(*found) if found else None
    if view is None:
        return _not_found(req, object_id)
    return _ok(req, {"@odata.context": f"{svc.url}/{version}/$metadata#directoryObjects/$entity", "@odata.type": "#microsoft.graph.device", **view})


def restore(svc, req: Request, version: str, object_id: str):
    denied = _denied(req, DEVICE_WRITE)
    if denied:
        return denied
    with svc.tenant.lock:
        if not svc.tenant.directory.may_restore_devices(req.auth.app_name):
            return graph_error(req, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        device = svc.tenant.restore_entra(unquote(object_id))
        view = device.view() if device else None
    if view is None:
        return _not_found(req, object_id)
    return _ok(req, {"@odata.context": f"{svc.url}/{version}/$metadata#directoryObjects/$entity", "@odata.type": "#microsoft.graph.device", **view})


def register(routes) -> None:
    routes.add("GET", "/beta/directory/deletedItems/microsoft.graph.device", "graph")(list_deleted_devices)
    for version in ("beta", "v1.0"):
        routes.add("GET", f"/{version}/directory/deletedItems/{{object_id}}", "graph")(
            lambda svc, req, object_id, v=version: get_deleted(svc, req, v, object_id)
        )
        routes.add("POST", f"/{version}/directory/deletedItems/{{object_id}}/restore", "graph")(
            lambda svc, req, object_id, v=version: restore(svc, req, v, object_id)
        )
