"""Lab-only endpoints (no auth): the simulated Mac's fake tools enrol and register through these, tests and
the demo read the state and change faults. The product never calls ``/_lab/*``."""

from __future__ import annotations

import dataclasses
import time

from cleanup.lab.tenant.inventory import local_user
from cleanup.lab.tenant.model import REGISTRATION_MODELS, new_guid
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


def _report_to_jamf(svc, serial: str, upn: str, device_id: str) -> None:
    """Jamf Pro learns the new registration (gatherAADInfo): its newest record of the serial reports the user's
    Entra deviceId and holds Device Compliance information for it (UNKNOWN until ``compliance_delay`` passed)."""
    t = svc.tenant
    records = t.jamf_by_serial(serial)
    if not records:
        return
    rec = max(records, key=lambda r: r.seq)
    user = upn.split("@")[0]
    entry = next((u for u in rec.local_users or [] if u.get("username") == user), None)
    if entry is None and user:
        entry = local_user(user, full_name=user.title(), user_guid=new_guid().upper())
        rec.local_users = [*(rec.local_users or []), entry]
    if entry is not None:
        entry.update(computerAzureActiveDirectoryId=device_id, userAzureActiveDirectoryId=entry.get("userAzureActiveDirectoryId") or new_guid())
        entry["azureActiveDirectoryId"] = "ACTIVATED"
    t.set_compliance(rec.id, [device_id], delay=float(svc.faults.compliance_delay))


def register_device(svc, req: Request):
    """A registration as the tenant's model makes it: legacy (Workplace device + Intune record managed by jamf),
    device-compliance (Workplace device, no Intune record, Jamf's compliance information) or platform-sso (an
    AzureAd macOS device with the Mac's PSSO deviceId, and the same Jamf information)."""
    payload = _body(req)
    bad = _need(payload, "serial", "name")
    if bad:
        return bad
    assert payload is not None  # _need answers 400 for a missing body
    model = payload.get("model") or svc.tenant.registration_model
    if model not in REGISTRATION_MODELS:
        return json_response(400, {"error": f"unknown model {model!r} (known: {', '.join(REGISTRATION_MODELS)})"})
    now = time.time()
    upn = payload.get("user_upn") or ""
    device_id = payload.get("device_id") or new_guid()
    t = svc.tenant
    with t.lock:
        if model == "legacy":  # as before issue 12
            device = t.add_entra_device(payload["name"], device_id, registered=now, last_sign_in=now)
            managed = t.add_intune_device(payload["serial"], payload["name"], device.device_id, upn=upn, enrolled=now, last_sync=now)
            return json_response(200, {"deviceId": device.device_id, "entra_id": device.id, "intune_id": managed.id})
        try:
            device = t.add_dc_device(payload["name"], device_id, platform_sso=model == "platform-sso", registered=now, last_sign_in=now)
        except ValueError as exc:  # a deviceId a soft-deleted device still reserves
            return json_response(409, {"error": str(exc)})
        _report_to_jamf(svc, payload["serial"], upn, device.device_id)
    return json_response(200, {"deviceId": device.device_id, "entra_id": device.id, "intune_id": None})


def registration_model(svc, req: Request):
    """``POST {"model": ..., "dc_device": {"operating_system", "mdm_app_id", "management_type"}}`` (each optional)."""
    t = svc.tenant
    if req.method == "POST":
        payload = _body(req)
        if payload is None:
            return json_response(400, {"error": "a JSON object body is required"})
        unknown = sorted(set(payload) - {"model", "dc_device"})
        dc_device = payload.get("dc_device")
        if unknown or not (dc_device is None or isinstance(dc_device, dict)):
            return json_response(400, {"error": f"takes model and dc_device (an object){': not ' + ', '.join(unknown) if unknown else ''}"})
        try:
            t.set_registration_model(payload.get("model") or t.registration_model, dc_device)
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
    with t.lock:
        return json_response(200, {"model": t.registration_model, "dc_device": dict(t.dc_device)})


def state(svc, req: Request):
    t = svc.tenant
    now = time.time()
    t.settle_compliance(now)
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
            "registration_model": t.registration_model,
            "dc_device": dict(t.dc_device),
            "compliance_partners": [dict(p) for p in t.directory.compliance_partners],
            "compliance": {cid: dict(dataclasses.asdict(i), state=i.state_at(now)) for cid, i in t.compliance.items()},
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
    routes.add("GET", "/_lab/model", "lab")(registration_model)
    routes.add("POST", "/_lab/model", "lab")(registration_model)
    routes.add("GET", "/_lab/faults", "lab")(faults)
    routes.add("POST", "/_lab/faults", "lab")(faults)
    routes.add("GET", "/_lab/stats", "lab")(stats)
    routes.add("POST", "/_lab/stats/reset", "lab")(stats)
