"""The article's symptoms (its troubleshooting table) as predicates over one Mac's record summaries
(:mod:`cleanup.clients.records`), defined once for ``cleanup diagnose`` and ``cleanup batch select``.

The decisions, so that diagnose, batch select and the delete steps agree on the same records:

- **What is the Mac's record.** Only records that :func:`~cleanup.clients.records.is_mac_intune` /
  :func:`~cleanup.clients.records.is_mac_entra` accept are the Mac's: an Intune record of the serial that
  says ``MacMDM`` (Entra's word, not an Intune platform) is not a Mac, exactly as the delete steps treat it
  (they never delete it). It is no duplicate and does not count as a registration.
- **Unresponsive** is judged on the Mac's newest Jamf Pro record (a stale second record does not make a Mac
  that checks in unresponsive): no check-in for ``UNRESPONSIVE_HOURS`` hours, or no check-in time at all
  (never checked in). A serial Jamf Pro does not know is not "unresponsive": that is "not enrolled".
- **Entra registration deactivated** is read from the same newest record's users.
- **Compliance mismatch** ("compliant in Intune but not in Azure"): a Mac Intune record that is
  ``compliant`` and names an Entra deviceId, while Entra does not hold that device as compliant: either the
  Mac's Entra device reports ``isCompliant`` false, or Entra has no Mac device with that deviceId at all
  (deleted or never created: Conditional Access cannot see it as compliant either, and the reset is the
  remedy). An Intune record naming no deviceId (empty or the zero GUID) is not a mismatch: its registration
  never completed, there is nothing to compare. ``isCompliant`` unset is not evidence either way.
- **Duplicates**: more than one Mac record of the serial in Intune; more than one Mac device in Entra; more
  than one Jamf Pro record of the serial. Entra has no serial: across a fleet (:func:`entra_ties`) a device is
  the Mac's when its deviceId is one the serial's Jamf Pro records or Intune records name and no other serial's
  do, or, when no serial names its deviceId at all, when its name is exactly (ignoring case) the name of that
  serial's Jamf Pro record and of no other serial's.
"""

from __future__ import annotations

from typing import Any

from cleanup.clients.records import (
    ZERO_GUID,
    is_mac_entra,
    is_mac_intune,
    linked_device_id,
    newest_jamf,
    parse_time,
)
from cleanup.identifiers import SERIAL_RE

UNRESPONSIVE_HOURS = 24
ENTRA_NOT_COMPLIANT = "not compliant in Entra"
ENTRA_MISSING = "no Entra device"


# -- Jamf Pro --------------------------------------------------------------------------------------------


def seconds_since_check_in(jamf: list[dict[str, Any]], now: float) -> float | None:
    """Seconds since the newest Jamf Pro record (summaries) checked in; None if it never did (or no record)."""
    newest = newest_jamf(jamf)
    last = parse_time(newest.get("last_contact")) if newest else None
    return None if last is None else now - last


def unresponsive(jamf: list[dict[str, Any]], now: float) -> bool:
    if not jamf:
        return False
    age = seconds_since_check_in(jamf, now)
    return age is None or age > UNRESPONSIVE_HOURS * 3600


def users_in_state(users: list[dict[str, Any]], state: str) -> list[str]:
    """The users (records.jamf_users of the newest record) whose Entra registration Jamf Pro reports in ``state``."""
    return [u["username"] for u in users if u.get("state") == state]


def deactivated(users: list[dict[str, Any]]) -> list[str]:
    return users_in_state(users, "DEACTIVATED")


def several_jamf_records(jamf: list[dict[str, Any]]) -> bool:
    return len(jamf) > 1


# -- Intune and Entra ------------------------------------------------------------------------------------


def mac_records(intune: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in intune if is_mac_intune(r)]


def mac_devices(entra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in entra if is_mac_entra(d)]


def intune_duplicates(intune: list[dict[str, Any]]) -> bool:
    return len(mac_records(intune)) > 1


def entra_duplicates(entra: list[dict[str, Any]]) -> bool:
    return len(mac_devices(entra)) > 1


#: the operatingSystem values Entra's Mac devices are listed by, one listing each (records.ENTRA_MAC_SYSTEMS)
ENTRA_MAC_LISTINGS = ("MacMDM", "macOS", "Mac OS X", "OSX")
BY_DEVICE_ID = "deviceId"
BY_NAME = "name"


def entra_ties(jamf: list[dict[str, Any]], intune: list[dict[str, Any]], entra: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """serial -> the Mac Entra devices tied to it, each ``{"device": raw, "tie": "deviceId" | "name", "how": why}``.
    ``jamf``: summaries of every Jamf Pro record (records.jamf_summary); ``intune``, ``entra``: raw records.
    A deviceId several serials name ties the device to none of them; so does a name several serials' records carry."""
    claimants: dict[str, dict[str, str]] = {}  # deviceId -> serial -> how
    named: dict[str, dict[str, str]] = {}  # name (casefold) -> serial -> Jamf Pro computer id
    for j in jamf:
        serial = j.get("serial") or ""
        if not SERIAL_RE.fullmatch(serial):
            continue
        for did in (d.casefold() for d in j.get("aad_device_ids") or []):
            if did != ZERO_GUID:
                claimants.setdefault(did, {}).setdefault(serial, f"deviceId Jamf Pro records for computer {j['id']}")
        if isinstance(j.get("name"), str) and j["name"]:
            named.setdefault(j["name"].casefold(), {}).setdefault(serial, str(j["id"]))
    for r in mac_records(intune):
        serial, did = r.get("serialNumber") or "", linked_device_id(r)
        if did and SERIAL_RE.fullmatch(serial):
            claimants.setdefault(did, {}).setdefault(serial, f"azureADDeviceId of Intune record {r.get('id')}")
    out: dict[str, list[dict[str, Any]]] = {}
    for dev in mac_devices(entra):
        claims = claimants.get((dev.get("deviceId") or "").casefold())
        if claims:
            if len(claims) == 1:
                [(serial, how)] = claims.items()
                out.setdefault(serial, []).append({"device": dev, "tie": BY_DEVICE_ID, "how": how})
            continue  # linked to a serial by its deviceId: never anyone's by name
        owners = named.get(str(dev.get("displayName") or "").casefold())
        if owners and len(owners) == 1:
            [(serial, cid)] = owners.items()
            out.setdefault(serial, []).append({"device": dev, "tie": BY_NAME, "how": f"displayName {dev.get('displayName')!r} of Jamf Pro computer {cid}"})
    return out


def not_registered(intune: list[dict[str, Any]]) -> bool:
    """Intune has no Mac record of the serial: the registration failed or never ran."""
    return not mac_records(intune)


def managed_outside_jamf(intune: list[dict[str, Any]]) -> bool:
    """The Mac's one Intune record is managed by something else than Jamf (Cause 4)."""
    records = mac_records(intune)
    return len(records) == 1 and records[0].get("managementAgent") != "jamf"


def compliance_mismatch(record: dict[str, Any], entra: list[dict[str, Any]]) -> str | None:
    """``ENTRA_NOT_COMPLIANT`` / ``ENTRA_MISSING`` when the Intune record is compliant and Entra does not
    hold its device as compliant; None otherwise. ``entra``: the Entra devices with the record's deviceId."""
    if not is_mac_intune(record) or record.get("complianceState") != "compliant":
        return None
    did = linked_device_id(record)
    if did is None:
        return None
    devices = [d for d in mac_devices(entra) if (d.get("deviceId") or "").casefold() == did]
    if not devices:
        return ENTRA_MISSING
    if any(d.get("isCompliant") is False for d in devices):
        return ENTRA_NOT_COMPLIANT
    return None
