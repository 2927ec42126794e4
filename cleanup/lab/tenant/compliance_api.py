"""Jamf Pro API: the device-compliance information of one computer (Jamf Device Compliance, the 2026 model).

``GET /api/v1/conditional-access/device-compliance-information/computer/{id}`` answers a list with one entry per
compliance vendor, as Jamf's reference example does. Its ``complianceVendorDeviceInformation`` is an array of
``{"deviceIds": [...]}`` there, but an object in Jamf's schema: ``Faults.dc_info_shape`` picks one. The deviceIds
are the Entra deviceIds Jamf Pro reports compliance for [I]. A computer without Device Compliance information
answers ``[]``; an unknown computer 404. The privilege is assumed to be Read Computers [I].
"""

from __future__ import annotations

import time

from cleanup.lab.tenant.jamf_api import _denied
from cleanup.lab.tenant.wire import Request, jamf_error, json_response

PRIVILEGE = "Read Computers"  # [I]: no source names it


def _vendor_information(device_ids: list[str], shape: str) -> dict | list:
    info = {"deviceIds": list(device_ids)}
    return info if shape == "object" else [info]


def computer_compliance(svc, req: Request, cid: str):
    denied = _denied(req, PRIVILEGE)
    if denied:
        return denied
    now = time.time()
    shape = svc.faults.dc_info_shape
    t = svc.tenant
    with t.lock:
        if cid not in t.jamf:
            return jamf_error(404, "INVALID_ID", f"Computer with id {cid} does not exist")
        t.settle_compliance(now)
        info = t.compliance.get(cid)
        entries = []
        if info is not None:
            entries.append(
                {
                    "deviceId": cid,
                    "applicable": info.applicable,
                    "complianceState": info.state_at(now),
                    "complianceVendor": info.vendor,
                    "complianceVendorDeviceInformation": _vendor_information(info.device_ids, shape),
                }
            )
    return json_response(200, entries, pretty=True)


def register(routes) -> None:
    routes.add("GET", "/api/v1/conditional-access/device-compliance-information/computer/{cid}", "jamf")(computer_compliance)
