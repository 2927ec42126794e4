"""The Mac's records in Jamf Pro, Entra and Intune as this tool records them, and the identity checks on them.

Step 0 stores these summaries in the checkpoint; the delete steps act only on objects recorded there and
re-read each one right before deleting it. Summaries hold ids, names and dates, never tokens.
"""

from __future__ import annotations

from typing import Any

from cleanup.engine.context import RunContext
from cleanup.errors import Ambiguous, SafetyRefusal, UsageError
from cleanup.identifiers import SERIAL_RE

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def _get(d: dict | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def jamf_summary(rec: dict) -> dict:
    return {
        "id": str(rec.get("id")),
        "name": _get(rec, "general", "name"),
        "serial": _get(rec, "hardware", "serialNumber"),
        "udid": rec.get("udid"),
        "last_contact": _get(rec, "general", "lastContactTime"),
        "report_date": _get(rec, "general", "reportDate"),
        "managed": _get(rec, "general", "remoteManagement", "managed"),
        # the Entra deviceId(s) Jamf Pro reports for the Mac (its current registration)
        "aad_device_ids": sorted({u.get("computerAzureActiveDirectoryId") for u in rec.get("localUserAccounts") or []
                                  if isinstance(u, dict) and u.get("computerAzureActiveDirectoryId")}),
    }


ENTRA_FIELDS = ("id", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion", "trustType", "accountEnabled",
                "registrationDateTime", "approximateLastSignInDateTime", "isCompliant", "isManaged")
INTUNE_FIELDS = ("id", "deviceName", "serialNumber", "azureADDeviceId", "managementAgent", "operatingSystem", "enrolledDateTime",
                 "lastSyncDateTime", "complianceState", "userPrincipalName")


def entra_summary(dev: dict, found_by: str) -> dict:
    return {**{k: dev.get(k) for k in ENTRA_FIELDS}, "found_by": found_by}


def intune_summary(dev: dict) -> dict:
    return {k: dev.get(k) for k in INTUNE_FIELDS}


def is_mac_entra(dev: dict) -> bool:
    os_name = (dev.get("operatingSystem") or "").casefold().replace(" ", "")
    return os_name in ("macmdm", "macos", "macosx", "osx")


def is_mac_intune(dev: dict) -> bool:
    return (dev.get("operatingSystem") or "").casefold() == "macos"


def same_guid(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()


def cloud_facts(ctx: RunContext) -> dict:
    """The records step 0 gathered; a step that needs them cannot be planned without them."""
    cloud = ctx.facts.get("cloud")
    if not cloud:
        raise UsageError("the Mac's cloud records were not gathered (no Jamf Pro / Graph connection when the run started)",
                         hint="`cleanup creds set jamf|graph`, then start a new run")
    return cloud


def chosen(ctx: RunContext, service: str, candidates: list[dict], what: str, option: str) -> list[dict]:
    """Candidates narrowed by the operator's explicit picks; several without a pick -> Ambiguous (status 4)."""
    picks = ctx.options.choices.get(service) or ctx.facts.get("cloud", {}).get("choices", {}).get(service) or []
    if picks:
        by_id = {c["id"]: c for c in candidates}
        unknown = [p for p in picks if p not in by_id]
        if unknown:
            raise UsageError(f"{option} {', '.join(unknown)}: not among the {what} found for this Mac ({', '.join(by_id) or 'none'})")
        return [by_id[p] for p in picks]
    if len(candidates) > 1:
        listing = "; ".join(describe(service, c) for c in candidates)
        raise Ambiguous(f"{len(candidates)} {what} match this Mac where one is expected: {listing}",
                        hint=f"choose explicitly with {option} ID (repeatable), after checking them in the portal")
    return candidates


def describe(service: str, rec: dict) -> str:
    if service == "jamf":
        return f"Jamf Pro computer {rec['id']} {rec.get('name')!r} (serial {rec.get('serial')}, last contact {rec.get('last_contact') or 'never'})"
    if service == "entra":
        return (f"Entra device {rec['id']} {rec.get('displayName')!r} (deviceId {rec.get('deviceId')}, {rec.get('operatingSystem')}, "
                f"registered {rec.get('registrationDateTime') or '?'})")
    return (f"Intune device {rec['id']} {rec.get('deviceName')!r} (serial {rec.get('serialNumber')}, {rec.get('managementAgent')}, "
            f"last sync {rec.get('lastSyncDateTime') or 'never'})")


def refuse_changed(service: str, rec: dict, why: str) -> SafetyRefusal:
    return SafetyRefusal(f"{describe(service, rec)} changed since it was recorded ({why}); refusing to delete it",
                         hint="check the object in the portal; start a new run to record the current state")


# -- claims: which other Macs' records name an Entra deviceId ------------------------------------------------

def claims_of(serial: str, device_ids: list[str], intune: list[dict], jamf: list[dict]) -> dict[str, list[str]]:
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


def claimed(facts: dict, dev: dict) -> list[str]:
    """The evidence (step 0) that another Mac's records claim this Entra device."""
    return (facts.get("claims") or {}).get((dev.get("deviceId") or "").casefold(), [])


def unclaimed(facts: dict, devices: list[dict], refuse=lambda dev: False) -> list[dict]:
    """The devices no other serial claims. A claimed one is never deleted as this Mac's: it is left out (kept,
    see claim_notes), or, where ``refuse(dev)``, the Mac is refused (status 4) with the evidence."""
    out = []
    for dev in devices:
        evidence = claimed(facts, dev)
        if not evidence:
            out.append(dev)
        elif refuse(dev):
            raise SafetyRefusal(f"{describe('entra', dev)} is another Mac's ({'; '.join(evidence)}), yet it was found as this "
                                f"Mac's by {dev.get('found_by')}; refusing to delete it as this Mac's",
                                hint="check both Macs in the portals (a migrated keychain or a stale record may carry the "
                                     "other Mac's registration); choose this Mac's devices explicitly with --entra-device ID")
    return out


def claim_notes(facts: dict, devices: list[dict]) -> list[str]:
    return [f"kept {describe('entra', dev)}: another Mac's registration ({'; '.join(ev)})"
            for dev in devices for ev in [claimed(facts, dev)] if ev]


def on_certificate(dev: dict) -> bool:
    return (dev.get("found_by") or "").startswith("deviceId on the Mac's")


def claim_sources(serial: str, devices: list[dict], intune_by_device_id: dict[str, list[dict]]) -> tuple[list[str], list[str], list[str]]:
    """(deviceIds, other serials whose Intune records name them, device names) of the claim lookups for ``devices``."""
    dids = list(dict.fromkeys((d.get("deviceId") or "").casefold() for d in devices if d.get("deviceId")))
    serials = sorted({r.get("serialNumber") for did in dids for r in intune_by_device_id.get(did, [])
                      if SERIAL_RE.fullmatch(r.get("serialNumber") or "") and r.get("serialNumber") != serial})
    names = sorted({d["displayName"] for d in devices if d.get("displayName")})
    return dids, serials, names


def claims_from(serial: str, devices: list[dict], intune_by_device_id: dict[str, list[dict]], jamf: list[dict]) -> dict[str, list[str]]:
    """claims_of for ``devices``, from the Intune records of their deviceIds and the Jamf Pro records found by the
    other serials those name or by the devices' names (only those count, however many ``jamf`` holds)."""
    from cleanup.clients.jamf import quotable_name

    dids, serials, names = claim_sources(serial, devices, intune_by_device_id)
    wanted_names = {n for n in names if quotable_name(n)}
    mine = [r for r in jamf if (s := jamf_summary(r))["serial"] in serials or s["name"] in wanted_names]
    return claims_of(serial, dids, [r for did in dids for r in intune_by_device_id.get(did, [])], mine)
