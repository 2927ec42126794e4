"""Steps 2 and 3: ``jamf removeMdmProfile`` and ``jamf removeFramework`` (skipped with a reason when jamf is absent)."""

from __future__ import annotations

from cleanup.actions import probes
from cleanup.actions.base import Action, ChangeBlocked, Param, command_failed
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, StepPlan
from cleanup.errors import StepFailed

JAMF = "/usr/local/jamf/bin/jamf"
NON_REMOVABLE = (
    "the MDM profile is non-removable (installed by Automated Device Enrollment), so the Mac cannot remove it: "
    "send Jamf Pro's Remove MDM Profile command to this computer (Jamf Pro API "
    "POST /api/v1/computer-inventory/{id}/remove-mdm-profile, or Unmanage in the console), then `cleanup resume`"
)


def run_jamf_change(ctx: RunContext, change: Change) -> str:
    res = ctx.host.run(change.details["argv"])
    if res.returncode == 127:
        return "already gone (jamf binary absent)"
    if not res.ok:
        raise command_failed(change.details["argv"], res)
    return "done"


class RemoveMdmProfile(Action):
    name = "jamf.remove_mdm_profile"
    summary = "Remove the Jamf MDM profile with the jamf binary"
    params = {"jamf_binary": Param("str", default=JAMF)}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        jamf = step.params["jamf_binary"]
        status = probes.memo(ctx, "enrollment", lambda: probes.enrollment(ctx.host))
        if not status.enrolled:
            return StepPlan(noop_reason="no MDM profile is installed")
        if ctx.host.lstat(jamf) is None:
            return StepPlan(blocked=[f"the jamf binary is absent but an MDM profile is installed; {NON_REMOVABLE}"])
        argv = [jamf, "removeMdmProfile"]
        return StepPlan(
            changes=[Change(key="command:jamf-removeMdmProfile", kind="run-command", target=" ".join(argv), details={"argv": argv, "mdm_server": status.server})]
        )

    def apply(self, ctx: RunContext, step: Step, change: Change) -> str:
        res = ctx.host.run(change.details["argv"])
        if not res.ok and "not removable" in (res.stderr + res.stdout).lower():
            raise ChangeBlocked(NON_REMOVABLE)
        if not res.ok:
            raise command_failed(change.details["argv"], res)
        if probes.enrollment(ctx.host).enrolled:
            raise ChangeBlocked(NON_REMOVABLE)
        return "MDM profile removed"


class RemoveFramework(Action):
    name = "jamf.remove_framework"
    summary = "Remove the Jamf framework with the jamf binary"
    params = {"jamf_binary": Param("str", default=JAMF)}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        jamf = step.params["jamf_binary"]
        if ctx.host.lstat(jamf) is None:
            return StepPlan(noop_reason=f"the Jamf framework is not installed ({jamf} is absent)")
        argv = [jamf, "removeFramework"]
        return StepPlan(changes=[Change(key="command:jamf-removeFramework", kind="run-command", target=" ".join(argv), details={"argv": argv})])

    def apply(self, ctx: RunContext, step: Step, change: Change) -> str:
        out = run_jamf_change(ctx, change)
        if ctx.host.lstat(step.params["jamf_binary"]) is not None:
            raise StepFailed("jamf removeFramework reported success but the jamf binary is still there")
        return out
