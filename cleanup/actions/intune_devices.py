"""Step 11: delete every Intune record of the Mac's serial (recorded in step 0; Macs only; re-read before the delete).

Per registration model (step 0's ``cloud["registration"]``): legacy, unknown, or a run recorded before models
were known: as the article says. Device Compliance and Platform SSO: a Jamf-managed Mac is not in Intune's device
list, so there is nothing to delete but the leftovers of the legacy integration (the serial's records managed by
``jamf``), which go, named so; a record of the serial managed otherwise is kept and named.
"""

from __future__ import annotations

from typing import ClassVar

from cleanup.actions.graph_delete import GraphDelete
from cleanup.clients import records as R
from cleanup.engine.action import ActsOn, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import ChangeKind, StepPlan

NEW_MODELS = ("device-compliance", "platform-sso")
LEFTOVER = "a leftover of the legacy integration"
MODEL_NAMES = {"device-compliance": "Jamf Device Compliance", "platform-sso": "Platform SSO (with Device Compliance)"}


def model(facts: dict) -> str | None:
    """The model step 0 classified (None: a run recorded before models were known)."""
    reg = facts.get("registration")
    return reg.get("model") if isinstance(reg, dict) else None


def jamf_managed(rec: dict) -> bool:
    return (rec.get("managementAgent") or "").casefold() == "jamf"


@register
class DeleteIntuneRecords(GraphDelete):
    name = "intune_devices.delete"
    summary = "Delete every Intune managedDevice of the Mac's serial"
    acts_on = ActsOn.CLOUD
    destructive = True
    reads_cloud = True
    needs_read: ClassVar[tuple[str, ...]] = ("graph:read-managed",)  # duplicates.intune needs more
    needs_write = ("graph:delete-managed",)
    service = "intune"
    what = "Intune records"
    option = None  # every record of the serial goes: no choice to make
    kind = ChangeKind.DELETE_INTUNE_RECORD
    collection = "/deviceManagement/managedDevices"

    def identity(self, rec: dict) -> dict:
        return {"serialNumber": rec.get("serialNumber"), "deviceName": rec.get("deviceName"), "managementAgent": rec.get("managementAgent")}

    def changed(self, expected: dict, current: dict) -> str | None:
        if current.get("serialNumber") != expected["serialNumber"]:
            return f"its serial is now {current.get('serialNumber')!r}, not {expected['serialNumber']}"
        if not R.is_mac_intune(current):
            return f"it is not a Mac ({current.get('operatingSystem')})"
        return None

    def targets(self, ctx: RunContext, facts: dict) -> list[dict]:
        found = super().targets(ctx, facts)
        return [r for r in found if jamf_managed(r)] if model(facts) in NEW_MODELS else found

    def _own_rule(self) -> bool:
        """Step 11's per-model rule applies (a subclass with targets of its own, the duplicates playbook's, has its own)."""
        return type(self).targets is DeleteIntuneRecords.targets

    def notes(self, facts: dict) -> list[str]:
        notes = ["Intune keeps no deleted records: these cannot be restored (each one's export stays in the run's folder)"] if facts.get("intune") else []
        if not self._own_rule():
            return notes
        m = model(facts)
        if m in NEW_MODELS:
            notes += [
                f"kept {R.describe('intune', r)}: not managed by jamf, so not {LEFTOVER}; a {MODEL_NAMES[m]} Mac has no Intune record "
                "(check it in Intune: it may be another enrollment of this serial)"
                for r in facts.get("intune") or []
                if not jamf_managed(r)
            ]
        elif m == "unknown" and facts.get("intune"):
            notes.append("registration model unknown (see step 0): every Intune record of the serial is deleted, as in the legacy reset")
        return notes

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = super().plan(ctx, step)
        if not self._own_rule() or plan.cannot_plan:
            return plan
        facts = ctx.facts.get("cloud") or {}
        m = model(facts)
        if m not in NEW_MODELS:
            return plan
        for change in plan.changes:
            change.target = f"{change.target}: {LEFTOVER}"
        if plan.changes:
            plan.notes.insert(0, f"{MODEL_NAMES[m]}: the serial's Intune records managed by jamf are deleted as leftovers of the legacy integration")
        else:
            plan.noop_reason = (
                f"no Intune record to delete: a {MODEL_NAMES[m]} Mac is not in Intune's device list (Jamf Pro reports its compliance), "
                "and no legacy leftover of the serial is recorded"
            )
        return plan

    def get_one(self, graph, oid):
        return graph.managed_device(oid)

    def delete_one(self, graph, oid):
        return graph.delete_managed_device(oid)
