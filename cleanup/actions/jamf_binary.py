"""Steps 2 and 3: ``jamf removeMdmProfile`` and ``jamf removeFramework`` (skipped with a reason when jamf is absent)."""

from __future__ import annotations

from cleanup.actions.scope import jamf_binary_problem
from cleanup.engine.action import Action, ActsOn, Outcome, Param, Pause, PauseKind, command_failed, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import ChangeBlocked, StepFailed
from cleanup.hosts import probes

JAMF = "/usr/local/jamf/bin/jamf"
NON_REMOVABLE = (
    "the MDM profile is non-removable (installed by Automated Device Enrollment), so the Mac cannot remove it: "
    "send Jamf Pro's Remove MDM Profile command to this computer (Jamf Pro API "
    "POST /api/v4/computers-inventory/{id}/remove-mdm-profile from Jamf Pro 11.30, "
    "POST /api/v1/computer-inventory/{id}/remove-mdm-profile before, or Unmanage in the console), then `cleanup resume`"
)


def run_jamf_change(ctx: RunContext, change: Change) -> Outcome:
    res = ctx.host.run(change.details["argv"])
    if res.returncode == 127:
        return Outcome.unchanged("already gone (jamf binary absent)")
    if not res.ok:
        raise command_failed(change.details["argv"], res)
    return Outcome.done("done")


def server_side_removal(ctx: RunContext) -> str | None:
    """A non-removable profile: send Jamf Pro's Remove MDM Profile command to the Mac's one recorded record.

    Returns what happened, or None when there is no cloud connection or not exactly one record to send it to.
    """
    from cleanup.errors import CleanupError

    records = (ctx.facts.get("cloud") or {}).get("jamf") or []
    if ctx.cloud_opener is None or len(records) != 1:
        return None
    rec = records[0]
    try:
        uuid = ctx.cloud.jamf.remove_mdm_profile(rec["id"])
    except CleanupError as exc:
        return f"the Mac cannot remove its MDM profile, and Jamf Pro's Remove MDM Profile command failed: {exc.message}"
    ctx.data["mdm_command"] = {"computer": rec["id"], "uuid": uuid or "", "at": ctx.clock()}  # "": Jamf Pro named no command id
    return f"sent Jamf Pro's Remove MDM Profile command{_uuid_text(uuid)} to computer {rec['id']} (the profile is non-removable on the Mac)"


def _uuid_text(uuid: str | None) -> str:
    return f" {uuid}" if uuid else " (Jamf Pro named no command id)"


@register
class RemoveMdmProfile(Action):
    name = "jamf.remove_mdm_profile"
    summary = "Remove the Jamf MDM profile with the jamf binary (non-removable: Jamf Pro's Remove MDM Profile command)"
    acts_on = ActsOn.DEVICE
    destructive = True
    #: sends Jamf Pro's Remove MDM Profile command for a non-removable profile when a connection is configured
    cloud_optional = True
    needs_read = ("jamf:read-computers",)
    pauses = frozenset({PauseKind.BLOCKED})
    params = {"jamf_binary": Param("str", default=JAMF, check=jamf_binary_problem)}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        jamf = step.params["jamf_binary"]
        status = ctx.memo("enrollment", lambda: probes.enrollment(ctx.host))
        if not status.enrolled:
            return StepPlan(noop_reason="no MDM profile is installed")
        if sent := ctx.data.get("mdm_command"):
            return StepPlan(
                blocked=[
                    f"waiting for the Mac to act on Jamf Pro's Remove MDM Profile command{_uuid_text(sent['uuid'])} "
                    "(at its next MDM check-in); `cleanup resume` then continues"
                ]
            )
        if ctx.host.lstat(jamf) is None:
            return StepPlan(blocked=[f"the jamf binary is absent but an MDM profile is installed; {NON_REMOVABLE}"])
        argv = [jamf, "removeMdmProfile"]
        return StepPlan(
            changes=[
                Change(
                    key="command:jamf-removeMdmProfile", kind=ChangeKind.RUN_COMMAND, target=" ".join(argv), details={"argv": argv, "mdm_server": status.server}
                )
            ]
        )

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        res = ctx.host.run(change.details["argv"])
        non_removable = not res.ok and "not removable" in (res.stderr + res.stdout).lower()
        if not res.ok and not non_removable:
            raise command_failed(change.details["argv"], res)
        if non_removable or probes.enrollment(ctx.host).enrolled:
            outcome = server_side_removal(ctx)
            if outcome is None or "mdm_command" not in ctx.data:
                raise ChangeBlocked(outcome or NON_REMOVABLE)
            return Outcome.done(outcome)
        return Outcome.done("MDM profile removed")

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        sent = ctx.data.get("mdm_command")
        if sent and probes.enrollment(ctx.host).enrolled:
            return Pause(
                f"step {step.number} ({step.id}): waiting for the Mac to act on Jamf Pro's Remove MDM Profile command"
                f"{_uuid_text(sent['uuid'])} (at its next MDM check-in); then `cleanup resume {ctx.run_id}`",
                kind=PauseKind.BLOCKED,
            )
        return None


@register
class RemoveFramework(Action):
    name = "jamf.remove_framework"
    summary = "Remove the Jamf framework with the jamf binary"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {"jamf_binary": Param("str", default=JAMF, check=jamf_binary_problem)}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        jamf = step.params["jamf_binary"]
        if ctx.host.lstat(jamf) is None:
            return StepPlan(noop_reason=f"the Jamf framework is not installed ({jamf} is absent)")
        argv = [jamf, "removeFramework"]
        return StepPlan(changes=[Change(key="command:jamf-removeFramework", kind=ChangeKind.RUN_COMMAND, target=" ".join(argv), details={"argv": argv})])

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        out = run_jamf_change(ctx, change)
        if ctx.host.lstat(step.params["jamf_binary"]) is not None:
            raise StepFailed("jamf removeFramework reported success but the jamf binary is still there")
        return out
