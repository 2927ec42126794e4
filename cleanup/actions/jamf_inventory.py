"""Step 4: delete the Mac's computer inventory record(s) in Jamf Pro (only those recorded in step 0), each only after
what Jamf Pro escrowed for it (FileVault key, LAPS passwords, Recovery Lock password) was saved (actions.escrowed)."""

from __future__ import annotations

from cleanup.actions import escrowed
from cleanup.actions.cloud_delete import DELETED, GONE, CloudDelete
from cleanup.actions.recorded import cloud_facts
from cleanup.clients import records as R
from cleanup.engine.action import ActsOn, Outcome, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import ChangeKind, StepPlan
from cleanup.errors import CleanupError


@register
class DeleteJamfRecord(CloudDelete):
    name = "jamf_inventory.delete"
    summary = "Delete the Mac's computer record in Jamf Pro (recorded in step 0, re-read before the delete)"
    acts_on = ActsOn.CLOUD
    destructive = True
    reads_cloud = True
    needs_read = ("jamf:read-computers",)
    needs_write = ("jamf:delete-computers",)
    service = "jamf"
    what = "Jamf Pro computer records"
    option = "--jamf-record"
    kind = ChangeKind.DELETE_JAMF_RECORD
    batched = False  # Jamf Pro has no batch endpoint

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = super().plan(ctx, step)
        chosen = {c.details["id"] for c in plan.changes}
        if chosen:
            plan.notes += [
                f"left behind (not chosen with --jamf-record): {R.describe('jamf', r)}; verification reports it until it is gone"
                for r in (ctx.facts.get("cloud") or {}).get("jamf") or []
                if r["id"] not in chosen
            ]
        recorded = {r["id"]: r for r in cloud_facts(ctx).get("jamf") or []}
        for change in plan.changes:
            change.details["escrow"] = escrowed.listing(recorded.get(change.details["id"], {}))
        plan.notes += escrowed.plan_notes(ctx, [recorded[c.details["id"]] for c in plan.changes if c.details["id"] in recorded])
        return plan

    def identity(self, rec: dict) -> dict:
        return {"serial": rec.get("serial"), "name": rec.get("name")}

    def changed(self, expected: dict, current: dict) -> str | None:
        serial = R.get_path(current, "hardware", "serialNumber")
        if serial != expected["serial"]:
            return f"its serial is now {serial!r}, not {expected['serial']}"
        return None

    def read(self, ctx: RunContext, ids: list[str]) -> dict[str, dict | None]:
        return {i: ctx.cloud.jamf.computer(i) for i in ids}

    def delete(self, ctx: RunContext, ids: list[str]) -> dict[str, Outcome | Exception]:
        """Each record's escrowed secrets are read and saved first; a record whose saves did not all succeed is not
        deleted (its outcome is the error)."""
        facts = cloud_facts(ctx)
        recorded = {r["id"]: r for r in facts.get("jamf") or []}
        out: dict[str, Outcome | Exception] = {}
        for i in ids:
            try:
                note = escrowed.save_before_delete(ctx, facts["serial"], escrowed.as_now(ctx, recorded.get(i, {"id": i})))
            except CleanupError as exc:
                out[i] = exc
                continue
            if not ctx.cloud.jamf.delete_computer(i):
                out[i] = GONE
            else:
                out[i] = Outcome.done(f"deleted; {note}") if note else DELETED
        return out
