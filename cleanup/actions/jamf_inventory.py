"""Step 4: delete the Mac's computer inventory record(s) in Jamf Pro (only those recorded in step 0)."""

from __future__ import annotations

from cleanup.actions.cloud_delete import DELETED, GONE, CloudDelete
from cleanup.clients import records as R
from cleanup.engine.action import ActsOn, Outcome, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import ChangeKind, StepPlan


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
        return {i: DELETED if ctx.cloud.jamf.delete_computer(i) else GONE for i in ids}
