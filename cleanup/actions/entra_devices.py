"""Step 5: delete the Mac's device(s) in Entra ID (only those recorded in step 0, re-read before the delete)."""

from __future__ import annotations

from typing import ClassVar

from cleanup.actions import recorded
from cleanup.actions.graph_delete import GraphDelete
from cleanup.clients import records as R
from cleanup.engine.action import ActsOn, register
from cleanup.engine.plan import ChangeKind
from cleanup.errors import SafetyRefusal


def refuse_claimed_in_jamf(ctx, facts: dict, devices: list[dict]) -> None:
    """A device the operator picked that another serial's Jamf Pro record reports (its local users'
    computerAzureActiveDirectoryId) refuses the Mac. Step 0's claim lookup finds Jamf Pro records only by serial
    and name; a Device Compliance Mac has no Intune record naming its serial, so the whole inventory is read here
    (a few paged requests, for an explicit pick only)."""
    if not devices or not ctx.cloud.config.jamf_configured():
        return
    dids = [(d.get("deviceId") or "").strip().casefold() for d in devices]
    claims = R.claims_of(facts.get("serial") or "", dids, [], ctx.cloud.jamf.all_computers())
    for dev, did in zip(devices, dids, strict=True):
        if evidence := claims.get(did):
            raise SafetyRefusal(
                f"{R.describe('entra', dev)} is another Mac's ({'; '.join(evidence)}); refusing to delete it as serial {facts.get('serial')}'s",
                hint="check both Macs in the portals; leave this device out of --entra-device",
            )


@register
class DeleteEntraDevice(GraphDelete):
    name = "entra_devices.delete"
    summary = "Delete the Mac's device in Entra ID (found by deviceId; by name only as a fallback)"
    acts_on = ActsOn.CLOUD
    destructive = True
    reads_cloud = True
    needs_read: ClassVar[tuple[str, ...]] = ("graph:read-devices",)  # duplicates.entra needs more
    needs_write = ("graph:delete-devices",)
    service = "entra"
    what = "Entra devices"
    option = "--entra-device"
    kind = ChangeKind.DELETE_ENTRA_DEVICE
    collection = "/devices"

    def identity(self, rec: dict) -> dict:
        return {"deviceId": rec.get("deviceId"), "displayName": rec.get("displayName"), "operatingSystem": rec.get("operatingSystem")}

    def changed(self, expected: dict, current: dict) -> str | None:
        if not R.same_guid(current.get("deviceId"), expected["deviceId"]):
            return f"its deviceId is now {current.get('deviceId')}, not {expected['deviceId']}"
        if not R.is_mac_entra(current):
            return f"it is not a Mac ({current.get('operatingSystem')})"
        return None

    def targets(self, ctx, facts: dict) -> list[dict]:
        """Devices found by deviceId are this Mac's registrations, all of them; one found by name only is deleted
        only on the operator's explicit pick. None that another serial's records claim (records.unclaimed)."""
        found, others = facts.get("entra") or [], facts.get("entra_other") or []
        picks = ctx.options.choices.get("entra") or facts.get("choices", {}).get("entra") or []
        if picks:
            chosen = recorded.chosen(ctx, "entra", found + others, self.what, self.option)
            refuse_claimed_in_jamf(ctx, facts, chosen)
        elif facts.get("entra_by_name_only"):
            recorded.chosen(ctx, "entra", found, self.what, self.option)  # several by name: Ambiguous (status 4)
            chosen = []  # a name alone never deletes
        else:
            chosen = found
        return R.unclaimed(facts, chosen, refuse=lambda dev: bool(picks) or R.on_certificate(dev))

    def notes(self, facts: dict) -> list[str]:
        notes = [f"kept, not linked to this Mac: {R.describe('entra', d)}" for d in facts.get("entra_other", [])]
        if facts.get("entra_by_name_only"):
            notes += [
                f"kept {R.describe('entra', d)}: found by the computer name only (no deviceId matched); after checking it "
                f"in the portal, add --entra-device {d['id']} to delete it"
                for d in facts.get("entra") or []
                if not R.claimed(facts, d)
            ]
        return notes + R.claim_notes(facts, (facts.get("entra") or []) + (facts.get("entra_other") or []))

    def plan(self, ctx, step):
        plan = super().plan(ctx, step)
        recorded = {d["id"]: d for d in (ctx.facts.get("cloud") or {}).get("entra") or []}
        plan.notes += [soft_delete_note(recorded.get(c.details["id"]) or {"id": c.details["id"], **c.details["expect"]}, ctx.run_id) for c in plan.changes]
        return plan

    def get_one(self, graph, oid):
        return graph.device(oid)

    def delete_one(self, graph, oid):
        return graph.delete_device(oid)


#: the trust types Entra's device soft delete keeps for 30 days (registered and joined devices); hybrid-joined
#: devices and those with no recognised trust type (created through Graph) are hard-deleted at once
SOFT_DELETED_TRUST_TYPES = frozenset({"workplace", "azuread"})


def soft_delete_note(dev: dict, run_id: str) -> str:
    """What deleting ``dev`` leaves behind, by its trust type."""
    trust = dev.get("trustType")
    if str(trust or "").casefold() in SOFT_DELETED_TRUST_TYPES:
        return (
            f"Entra device {dev.get('id')} (trust type {trust}) is soft-deleted where the tenant keeps deleted devices: for 30 days every "
            f"read answers 404 and its deviceId {dev.get('deviceId')} stays reserved, and `cleanup restore {run_id or 'RUN'} --entra` brings it "
            "back; where the tenant keeps none, the delete is final"
        )
    return f"Entra device {dev.get('id')} (trust type {trust or 'none'}) is hard-deleted at once, never soft-deleted: it cannot be restored"
