"""The Mac's records in Jamf Pro, Entra and Intune as this tool records them, and the identity rules on them.

Step 0 stores these summaries in the checkpoint; the delete steps act only on objects recorded there and
re-read each one right before deleting it; ``diagnose`` and ``batch select`` judge the same summaries
(:mod:`cleanup.clients.symptoms`). Summaries hold ids, names and dates, never tokens.

Is it a Mac? One answer per service, for every caller:

- **Intune**: ``operatingSystem`` is ``macOS`` (any case). Intune names the platform of a managed Mac
  ``macOS``; ``MacMDM`` is Entra's word for a Mac's MDM device object, not an Intune platform. An Intune
  record that says ``MacMDM`` (or anything else) is therefore not counted as the Mac's record anywhere: the
  delete steps never delete it, ``diagnose`` does not count it as a duplicate (it shows it as evidence) and
  ``batch select`` does not flag its serial for it.
- **Entra**: ``operatingSystem`` is ``MacMDM`` (the MDM/Company Portal registration), ``macOS`` (a Platform
  SSO or Entra-registered record), ``Mac OS X`` or ``OSX``, ignoring case and spaces.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from cleanup.errors import Ambiguous, SafetyRefusal, UsageError
from cleanup.identifiers import SERIAL_RE

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
ENTRA_MAC_SYSTEMS = frozenset({"macmdm", "macos", "macosx", "osx"})
INTUNE_MAC_SYSTEMS = frozenset({"macos"})


def get_path(d: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def parse_time(text: object) -> float | None:
    """Epoch seconds of an ISO-8601 timestamp as Jamf and Graph write them; None for empty or the 0001 date."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    t = text.strip().replace("Z", "+00:00")
    if "." in t:  # Graph may send 7 fractional digits, which fromisoformat of 3.11 accepts only up to 6
        head, _, rest = t.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        t = head + "." + digits[:6].ljust(6, "0") + rest[len(digits) :]
    try:
        when = _dt.datetime.fromisoformat(t)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.timestamp()


# -- summaries -------------------------------------------------------------------------------------------


def jamf_summary(rec: dict[str, Any]) -> dict[str, Any]:
    # v1/v3 say lastContactTime; v4 (Jamf Pro 11.30) lastContact ("Last Contact": any contact, binary, MDM or DDM)
    # and lastCheckIn. Sources disagree which of the two is the old field, and one says lastContact may be null:
    # lastContact first, then lastCheckIn (docs/jamf-versions.md)
    last_contact = next((v for k in ("lastContact", "lastCheckIn", "lastContactTime") if (v := get_path(rec, "general", k))), None)
    return {
        "id": str(rec.get("id")),
        "name": get_path(rec, "general", "name"),
        "serial": get_path(rec, "hardware", "serialNumber"),
        "udid": rec.get("udid"),
        "last_contact": last_contact,
        "report_date": get_path(rec, "general", "reportDate"),
        "managed": get_path(rec, "general", "remoteManagement", "managed"),
        # the Entra deviceId(s) Jamf Pro reports for the Mac (its current registration)
        "aad_device_ids": sorted(
            {
                u.get("computerAzureActiveDirectoryId")
                for u in rec.get("localUserAccounts") or []
                if isinstance(u, dict) and u.get("computerAzureActiveDirectoryId")
            }
        ),
    }


def jamf_users(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The Mac's users as Jamf Pro reports them, with their Entra registration state (ACTIVATED, ...)."""
    return [
        {
            "username": u.get("username"),
            "state": u.get("azureActiveDirectoryId"),
            "userAzureActiveDirectoryId": u.get("userAzureActiveDirectoryId"),
            "computerAzureActiveDirectoryId": u.get("computerAzureActiveDirectoryId"),
        }
        for u in rec.get("localUserAccounts") or []
        if isinstance(u, dict)
    ]


ENTRA_FIELDS = (
    "id",
    "deviceId",
    "displayName",
    "operatingSystem",
    "operatingSystemVersion",
    "trustType",
    "accountEnabled",
    "registrationDateTime",
    "approximateLastSignInDateTime",
    "isCompliant",
    "isManaged",
    "mdmAppId",  # Intune's 0000000a-0000-0000-c000-000000000000, or null: no MDM
    "managementType",  # beta docs; may be absent on v1.0 (then None)
)
INTUNE_FIELDS = (
    "id",
    "deviceName",
    "serialNumber",
    "azureADDeviceId",
    "managementAgent",
    "operatingSystem",
    "enrolledDateTime",
    "lastSyncDateTime",
    "complianceState",
    "userPrincipalName",
)


def entra_summary(dev: dict[str, Any], found_by: str) -> dict[str, Any]:
    return {**{k: dev.get(k) for k in ENTRA_FIELDS}, "found_by": found_by}


def intune_summary(dev: dict[str, Any]) -> dict[str, Any]:
    return {k: dev.get(k) for k in INTUNE_FIELDS}


# -- identity --------------------------------------------------------------------------------------------


def is_mac_entra(dev: dict[str, Any]) -> bool:
    return (dev.get("operatingSystem") or "").casefold().replace(" ", "") in ENTRA_MAC_SYSTEMS


def is_mac_intune(dev: dict[str, Any]) -> bool:
    return (dev.get("operatingSystem") or "").casefold() in INTUNE_MAC_SYSTEMS


def same_guid(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.strip().casefold() == b.strip().casefold())


def linked_device_id(intune: dict[str, Any]) -> str | None:
    """The Entra deviceId an Intune record points to (lower case); None when it names none (empty, zero GUID)."""
    did = (intune.get("azureADDeviceId") or "").casefold()
    return did if did and did != ZERO_GUID else None


def newest_jamf(jamf: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Jamf Pro summary that checked in last (the Mac's current record); None without any."""
    return max(jamf, key=lambda j: parse_time(j.get("last_contact")) or 0, default=None)


def describe(service: str, rec: dict[str, Any]) -> str:
    if service == "jamf":
        return f"Jamf Pro computer {rec['id']} {rec.get('name')!r} (serial {rec.get('serial')}, last contact {rec.get('last_contact') or 'never'})"
    if service == "entra":
        return (
            f"Entra device {rec['id']} {rec.get('displayName')!r} (deviceId {rec.get('deviceId')}, {rec.get('operatingSystem')}, "
            f"registered {rec.get('registrationDateTime') or '?'})"
        )
    return (
        f"Intune device {rec['id']} {rec.get('deviceName')!r} (serial {rec.get('serialNumber')}, {rec.get('managementAgent')}, "
        f"last sync {rec.get('lastSyncDateTime') or 'never'})"
    )


def refuse_changed(service: str, rec: dict[str, Any], why: str) -> SafetyRefusal:
    return SafetyRefusal(
        f"{describe(service, rec)} changed since it was recorded ({why}); refusing to delete it",
        hint="check the object in the portal; start a new run to record the current state",
    )


def pick(picks: list[str], service: str, candidates: list[dict[str, Any]], what: str, option: str) -> list[dict[str, Any]]:
    """Candidates narrowed by the operator's explicit picks; several without a pick -> Ambiguous (status 4)."""
    if picks:
        by_id = {c["id"]: c for c in candidates}
        unknown = [p for p in picks if p not in by_id]
        if unknown:
            raise UsageError(f"{option} {', '.join(unknown)}: not among the {what} found for this Mac ({', '.join(by_id) or 'none'})")
        return [by_id[p] for p in picks]
    if len(candidates) > 1:
        listing = "; ".join(describe(service, c) for c in candidates)
        raise Ambiguous(
            f"{len(candidates)} {what} match this Mac where one is expected: {listing}",
            hint=f"choose explicitly with {option} ID (repeatable), after checking them in the portal",
        )
    return candidates


# -- claims: which other Macs' records name an Entra deviceId ------------------------------------------------


def claims_of(serial: str, device_ids: list[str], intune: list[dict[str, Any]], jamf: list[dict[str, Any]]) -> dict[str, list[str]]:
    """deviceId (lower case) -> evidence that another serial's Intune record (its azureADDeviceId) or Jamf Pro
    record (the deviceId Jamf reports) claims it; every deviceId asked for gets a list, maybe empty."""
    out: dict[str, list[str]] = {d.casefold(): [] for d in device_ids}
    for d in (intune_summary(r) for r in intune):
        did = (d.get("azureADDeviceId") or "").casefold()
        if did in out and d.get("serialNumber") != serial:
            out[did].append(f"Intune record {d['id']} of serial {d.get('serialNumber') or '(none)'} ({d.get('deviceName')!r}) points to it")
    for j in (jamf_summary(r) for r in jamf):
        for did in (x.casefold() for x in j["aad_device_ids"]):
            if did in out and j.get("serial") != serial:
                out[did].append(f"Jamf Pro reports it for computer {j['id']} of serial {j.get('serial') or '(none)'} ({j.get('name')!r})")
    return {did: sorted(set(ev)) for did, ev in out.items()}


def claimed(facts: dict[str, Any], dev: dict[str, Any]) -> list[str]:
    """The evidence (step 0) that another Mac's records claim this Entra device."""
    evidence: list[str] = (facts.get("claims") or {}).get((dev.get("deviceId") or "").casefold(), [])
    return evidence


def unclaimed(facts: dict[str, Any], devices: list[dict[str, Any]], refuse: Callable[[dict[str, Any]], bool] = lambda dev: False) -> list[dict[str, Any]]:
    """The devices no other serial claims. A claimed one is never deleted as this Mac's: it is left out (kept,
    see claim_notes), or, where ``refuse(dev)``, the Mac is refused (status 4) with the evidence."""
    out = []
    for dev in devices:
        evidence = claimed(facts, dev)
        if not evidence:
            out.append(dev)
        elif refuse(dev):
            raise SafetyRefusal(
                f"{describe('entra', dev)} is another Mac's ({'; '.join(evidence)}), yet it was found as this "
                f"Mac's by {dev.get('found_by')}; refusing to delete it as this Mac's",
                hint="check both Macs in the portals (a migrated keychain or a stale record may carry the "
                "other Mac's registration); choose this Mac's devices explicitly with --entra-device ID",
            )
    return out


def claim_notes(facts: dict[str, Any], devices: list[dict[str, Any]]) -> list[str]:
    return [f"kept {describe('entra', dev)}: another Mac's registration ({'; '.join(ev)})" for dev in devices for ev in [claimed(facts, dev)] if ev]


def on_certificate(dev: dict[str, Any]) -> bool:
    return (dev.get("found_by") or "").startswith("deviceId on the Mac's")


def claim_sources(serial: str, devices: list[dict[str, Any]], intune_by_device_id: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[str], list[str]]:
    """(deviceIds, other serials whose Intune records name them, device names) of the claim lookups for ``devices``."""
    dids: list[str] = list(dict.fromkeys((d.get("deviceId") or "").casefold() for d in devices if d.get("deviceId")))
    serials = sorted(
        {
            r["serialNumber"]
            for did in dids
            for r in intune_by_device_id.get(did, [])
            if SERIAL_RE.fullmatch(r.get("serialNumber") or "") and r.get("serialNumber") != serial
        }
    )
    names = sorted({d["displayName"] for d in devices if d.get("displayName")})
    return dids, serials, names


def claims_from(
    serial: str, devices: list[dict[str, Any]], intune_by_device_id: dict[str, list[dict[str, Any]]], jamf: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """claims_of for ``devices``, from the Intune records of their deviceIds and the Jamf Pro records found by the
    other serials those name or by the devices' names (only those count, however many ``jamf`` holds)."""
    from cleanup.clients.jamf import quotable_name

    dids, serials, names = claim_sources(serial, devices, intune_by_device_id)
    wanted_names = {n for n in names if quotable_name(n)}
    mine = [r for r in jamf if (s := jamf_summary(r))["serial"] in serials or s["name"] in wanted_names]
    return claims_of(serial, dids, [r for did in dids for r in intune_by_device_id.get(did, [])], mine)
