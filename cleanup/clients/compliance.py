"""The 2026 integration's two reads: Intune's compliance partners (Graph) and Jamf Pro's device-compliance
information of one computer (the Device Compliance model's link from a Jamf record to its Entra/Intune ids).

Both are read-only. Odd values are normalised, never guessed at: a state we do not know stays as sent, a
device id that is not a GUID is dropped (it could never match an Entra deviceId).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cleanup.errors import JamfError, UsageError
from cleanup.identifiers import valid_guid, valid_object_id

if TYPE_CHECKING:
    from cleanup.clients.graph import GraphClient
    from cleanup.clients.jamf import JamfClient

#: Graph v1.0; least privilege DeviceManagementServiceConfig.Read.All
PARTNERS = "/deviceManagement/complianceManagementPartners"
#: Jamf Pro API (the mobile counterpart is .../mobile/{id}); the privilege is assumed to be Read Computers
DC_INFO = "/api/v1/conditional-access/device-compliance-information/computer/{id}"
STATES = ("UNKNOWN", "NON_COMPLIANT", "COMPLIANT")


def compliance_partners(graph: GraphClient) -> list[dict[str, Any]]:
    """Every compliance management partner of the tenant, as Graph returns them ([] when there is none)."""
    return graph._get_all(PARTNERS, None)


def _heartbeat(partner: dict[str, Any]) -> str:
    value = partner.get("lastHeartbeatDateTime")
    return value if isinstance(value, str) else ""


def jamf_partner(partners: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Jamf Device Compliance partner onboarded for macOS, or None. Its displayName is "Jamf Device Compliance"
    in the portal; any name containing "Jamf" is accepted. Of several, an enabled one wins, then the newest heartbeat."""
    candidates = [
        p
        for p in partners
        if isinstance(p, dict) and p.get("macOsOnboarded") is True and isinstance(p.get("displayName"), str) and "jamf" in p["displayName"].lower()
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.get("partnerState") == "enabled", _heartbeat(p)))


def _guids(values: object) -> list[str]:
    out: list[str] = []
    for value in values if isinstance(values, list) else []:
        try:
            guid = valid_guid(value)
        except UsageError:
            continue
        if guid not in out:
            out.append(guid)
    return out


def vendor_device_ids(info: object) -> list[str]:
    """The lower-case GUIDs of ``complianceVendorDeviceInformation``: the schema says an object
    ``{"deviceIds": [...]}``, Jamf's example and one SDK send an array of such objects; both are read."""
    parts = info if isinstance(info, list) else [info]
    out: list[str] = []
    for part in parts:
        if isinstance(part, dict):
            out += [g for g in _guids(part.get("deviceIds")) if g not in out]
    return out


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    state = raw.get("complianceState")
    vendor = raw.get("complianceVendor")
    return {
        "applicable": raw.get("applicable") is True,
        "state": state.strip().upper() if isinstance(state, str) and state.strip() else "UNKNOWN",
        "vendor": vendor if isinstance(vendor, str) and vendor else None,
        "device_ids": vendor_device_ids(raw.get("complianceVendorDeviceInformation")),
    }


def parse_device_compliance(body: object, path: str = DC_INFO) -> list[dict[str, Any]]:
    """Jamf Pro's answer normalised to ``[{"applicable", "state", "vendor", "device_ids"}]``; a lone object is
    read as a list of one. JamfError for anything else."""
    items = [body] if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise JamfError(f"Jamf Pro GET {path}: expected a list of device-compliance entries", method="GET", status=200)
    return [_entry(item) for item in items if isinstance(item, dict)]


def device_compliance(jamf: JamfClient, computer_id: str | int) -> list[dict[str, Any]] | None:
    """The computer's device-compliance information (see parse_device_compliance); None when the record is gone."""
    path = DC_INFO.format(id=valid_object_id(computer_id))
    body = jamf.get_or_none(path)
    if body is None:
        return None
    return parse_device_compliance(body, path)
