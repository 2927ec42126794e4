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
  than one Jamf Pro record of the serial.
"""

from __future__ import annotations

from typing import Any

from cleanup.clients.records import (
    is_mac_entra,
    is_mac_intune,
    linked_device_id,
    newest_jamf,
    parse_time,
)

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
