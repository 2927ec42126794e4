"""Step 4: delete the Mac's computer inventory record(s) in Jamf Pro (only those recorded in step 0)."""

from __future__ import annotations

from cleanup.actions import cloud_records as R
from cleanup.actions.cloud_delete import CloudDelete
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan


class DeleteJamfRecord(CloudDelete):
    name = "jamf_inventory.delete"
    summary = "Delete the Mac's computer record in Jamf Pro (recorded in step 0, re-read before the delete)"
    service = "jamf"
    what = "Jamf Pro computer records"
    option = "--jamf-record"
    kind = "delete-jamf-record"
    batched = False  # Jamf Pro has no batch endpoint

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = super().plan(ctx, step)
        chosen = {c.details["id"] for c in plan.changes}
        if chosen:
            plan.notes += [f"left behind (not chosen with --jamf-record): {R.describe('jamf', r)}; verification reports it "
                           "until it is gone" for r in (ctx.facts.get("cloud") or {}).get("jamf") or [] if r["id"] not in chosen]
        return plan

    def identity(self, rec: dict) -> dict:
        return {"serial": rec.get("serial"), "name": rec.get("name")}

    def changed(self, expected: dict, current: dict) -> str | None:
        serial = R._get(current, "hardware", "serialNumber")
        if serial != expected["serial"]:
            return f"its serial is now {serial!r}, not {expected['serial']}"
        return None

    def read(self, ctx: RunContext, ids: list[str]) -> dict[str, dict | None]:
        return {i: ctx.cloud.jamf.computer(i) for i in ids}

    def delete(self, ctx: RunContext, ids: list[str]) -> dict[str, str]:
        return {i: "deleted" if ctx.cloud.jamf.delete_computer(i) else "already gone" for i in ids}
