"""The duplicates playbook: keep the Mac's current Intune record and its Entra device, delete the stale ones.

The current registration is the Intune record whose Entra deviceId Jamf Pro reports for the Mac; without one,
the record that synced last. The last record of a Mac is never deleted, nor anything that is not macOS.
No device access is needed.
"""

from __future__ import annotations

from cleanup.actions.entra_devices import DeleteEntraDevice
from cleanup.actions.intune_devices import DeleteIntuneRecords
from cleanup.clients import records as R
from cleanup.engine.action import register
from cleanup.engine.context import RunContext
from cleanup.errors import Ambiguous


def keeper(facts: dict) -> tuple[dict | None, str]:
    """The Intune record to keep, and why."""
    intune = facts.get("intune") or []
    if not intune:
        return None, "no Intune record"
    reported = _reported(facts)
    by_sync = sorted(intune, key=lambda r: r.get("lastSyncDateTime") or "")
    current = [r for r in by_sync if (r.get("azureADDeviceId") or "").casefold() in reported]
    if current:
        return current[-1], "its Entra deviceId is the one Jamf Pro reports for the Mac"
    return by_sync[-1], "it synced last (Jamf Pro reports no Entra deviceId for the Mac)"


def _reported(facts: dict) -> set[str]:
    """The Entra deviceId Jamf Pro reports for the Mac; records that disagree refuse the Mac (status 4)."""
    by_record = {j["id"]: {d.casefold() for d in j.get("aad_device_ids") or [] if d != R.ZERO_GUID} for j in facts.get("jamf") or []}
    reported = set().union(*by_record.values())
    if len(reported) > 1:
        listing = "; ".join(f"{R.describe('jamf', j)} reports {', '.join(sorted(by_record[j['id']])) or 'none'}" for j in facts["jamf"])
        raise Ambiguous(
            f"Jamf Pro reports {len(reported)} different Entra deviceIds for serial {facts.get('serial')}, so its current registration is unknown: {listing}",
            hint="delete the stale Jamf Pro record (after checking it in the portal), then run again",
        )
    return reported


def _keep_note(facts: dict) -> list[str]:
    keep, why = keeper(facts)
    return [f"kept {R.describe('intune', keep)}: {why}"] if keep else []


@register
class DeleteStaleIntune(DeleteIntuneRecords):
    name = "duplicates.intune"
    summary = "Delete the Mac's stale Intune records, keeping the current one"
    needs_read = ("jamf:read-computers", "graph:read-managed")

    def targets(self, ctx: RunContext, facts: dict) -> list[dict]:
        keep, _ = keeper(facts)
        return [r for r in facts.get("intune") or [] if keep is not None and r["id"] != keep["id"]]

    def notes(self, facts: dict) -> list[str]:
        return _keep_note(facts)


@register
class DeleteStaleEntra(DeleteEntraDevice):
    name = "duplicates.entra"
    summary = "Delete the Entra devices of the Mac's stale Intune records, keeping the current registration's"
    needs_read = ("jamf:read-computers", "graph:read-devices", "graph:read-managed")

    def targets(self, ctx: RunContext, facts: dict) -> list[dict]:
        keep, _ = keeper(facts)
        if keep is None:
            return []
        return R.unclaimed(facts, self._stale(facts, keep))

    def _stale(self, facts: dict, keep: dict) -> list[dict]:
        keep_did = keep.get("azureADDeviceId")
        stale = {(r.get("azureADDeviceId") or "").casefold() for r in facts.get("intune") or [] if r["id"] != keep["id"]}
        stale.discard("")
        stale.discard(R.ZERO_GUID)
        return [d for d in facts.get("entra") or [] if (d.get("deviceId") or "").casefold() in stale and not R.same_guid(d.get("deviceId"), keep_did)]

    def notes(self, facts: dict) -> list[str]:
        keep, _ = keeper(facts)
        return _keep_note(facts) + (R.claim_notes(facts, self._stale(facts, keep)) if keep else [])
