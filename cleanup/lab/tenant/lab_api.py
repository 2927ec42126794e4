"""Lab-only endpoints (no auth): the simulated Mac's fake tools enrol and register through these, tests and
the demo read the state and change faults. The product never calls ``/_lab/*``."""

from __future__ import annotations

import dataclasses
import time

from cleanup.lab.tenant.model import new_guid
from cleanup.lab.tenant.wire import Request, json_response


def _body(req: Request) -> dict | None:
    payload = req.json()
    return payload if isinstance(payload, dict) else None


def _need(payload: dict | None, *keys: str):
    if payload is None:
        return json_response(400, {"error": "a JSON object body is required"})
    missing = [k for k in keys if not isinstance(payload.get(k), str) or not payload.get(k)]
    if missing:
        return json_response(400, {"error": f"missing field(s): {', '.join(missing)}"})
    return None


def enroll(svc, req: Request):
    payload = _body(req)
    bad = _need(payload, "serial", "name")
    if bad:
        return bad
    assert payload is not None  # _need answers 400 for a missing body
    now = time.time()
    upn = payload.get("user_upn") or ""
    overrides = {"last_contact": now, "report_date": now, "managed": True}
    if payload.get("udid"):
        overrides["udid"] = payload["udid"]
    rec = svc.tenant.add_jamf_computer(payload["serial"], payload["name"], username=upn.split("@")[0], email=upn, **overrides)
    return json_response(200, {"id": rec.id, "udid": rec.udid})


def register_device(svc, req: Request):
    payload = _body(req)
    bad = _need(payload, "serial", "name")
    if bad:
        return bad
    assert payload is not None  # _need answers 400 for a missing body
    now = time.time()
    upn = payload.get("user_upn") or ""
    with svc.tenant.lock:
        device = svc.tenant.add_entra_device(payload["name"], payload.get("device_id") or new_guid(), registered=now, last_sign_in=now)
        managed = svc.tenant.add_intune_device(payload["serial"], payload["name"], device.device_id, upn=upn, enrolled=now, last_sync=now)
    return json_response(200, {"deviceId": device.device_id, "entra_id": device.id, "intune_id": managed.id})


def state(svc, req: Request):
    t = svc.tenant
    with t.lock:
        body = {
            "tenant_id": t.tenant_id,
            "scenario": t.scenario,
            "mac": dataclasses.asdict(t.mac) if t.mac else None,
            "jamf": [dataclasses.asdict(r) for r in t.jamf.values()],
            "entra": [dataclasses.asdict(r) for r in t.entra.values()],
            "intune": [dataclasses.asdict(r) for r in t.intune.values()],
            "groups": list(t.groups.values()),
            "deleted": list(t.deleted),
            "mdm_commands": list(t.mdm_commands),
        }
    return json_response(200, body)


def faults(svc, req: Request):
    if req.method == "POST":
        payload = _body(req)
        if payload is None:
            return json_response(400, {"error": "a JSON object body is required"})
        try:
            svc.faults.update(payload)
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
    return json_response(200, svc.faults.as_dict())


def stats(svc, req: Request):
    if req.method == "POST":
        svc.reset_stats()
    return json_response(200, svc.stats())


def register(routes) -> None:
    routes.add("POST", "/_lab/jamf/enroll", "lab")(enroll)
    routes.add("POST", "/_lab/register", "lab")(register_device)
    routes.add("GET", "/_lab/state", "lab")(state)
    routes.add("GET", "/_lab/faults", "lab")(faults)
    routes.add("POST", "/_lab/faults", "lab")(faults)
    routes.add("GET", "/_lab/stats", "lab")(stats)
    routes.add("POST", "/_lab/stats/reset", "lab")(stats)
