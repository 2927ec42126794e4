"""The cloud steps (4, 5, 11): Jamf Pro, Entra and Intune deletes.

This release has no cloud clients yet, so these steps cannot be planned: the run stops at them (status 3)
with the manual instruction; an operator who did it in the portal continues with ``--skip STEP``
(recorded), or runs ``--only device``.
"""

from __future__ import annotations

from cleanup.actions.base import Action
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan


class CloudStep(Action):
    def __init__(self, name: str, summary: str, manual: str):
        self.name = name
        self.summary = summary
        self.manual = manual
        self.params = {}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        what = self.manual.format(serial=ctx.facts.get("serial", "?"), device_id=ctx.facts.get("entra_device_id") or "unknown")
        return StepPlan(
            cannot_plan=f"no cloud connection in this release: {what}, then continue with `--skip {step.id}` (recorded)"
        )


ACTIONS = [
    CloudStep("jamf_inventory.delete", "Delete the computer's inventory record(s) in Jamf Pro", "delete the Jamf Pro computer record of serial {serial} by hand"),
    CloudStep("entra_devices.delete", "Delete the Mac's device in Entra ID", "delete Entra device {device_id} by hand"),
    CloudStep("intune_devices.delete", "Delete every Intune managedDevice of the serial", "delete every Intune record of serial {serial} by hand"),
]
