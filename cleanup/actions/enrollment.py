"""Step 12 (device part): trigger re-enrollment in Jamf Pro.

Automated Device Enrollment: ``profiles renew -type enrollment``; otherwise the Jamf Pro enrollment page is
opened for the console user. The step completes once ``profiles`` reports MDM enrollment again.
"""

from __future__ import annotations

from cleanup.engine.action import Action, ActsOn, Outcome, Param, Pause, PauseKind, command_failed, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import UnsafePath
from cleanup.hosts import probes

OPEN = "/usr/bin/open"
DRY_RUN_NOTE = "planned as it will run after steps 2-3 removed the MDM profile and the Jamf framework"


def _method(v: str) -> str | None:
    return None if v in ("auto", "ade", "url") else "must be auto, ade or url"


def _https(v: str) -> str | None:
    return None if v == "" or v.startswith("https://") else "must be an https:// URL"


def open_for_console_user(ctx: RunContext, url: str, key: str, what: str) -> tuple[Change | None, str | None]:
    name = probes.console_user_name(ctx.host)
    user = next((u for u in ctx.users if u.name == name), None)
    if user is None:
        return None, f"nobody is logged in at the Mac to {what}; `cleanup resume` retries"
    change = Change(key, ChangeKind.RUN_COMMAND, f"open {url} as {user.name}", {"argv": [OPEN, url], "as_user": user.name, "once": True})
    return change, None


def run_change(ctx: RunContext, change: Change) -> Outcome:
    who = change.details.get("as_user")
    user = next((u for u in ctx.users if u.name == who), None)
    if who is not None and user is None:  # a change planned for a user never runs as root instead
        raise UnsafePath(f"{change.target}: {who!r} is not a local user of this Mac; not run")
    argv = change.details["argv"]
    res = ctx.host.run_as_user(user, argv) if user else ctx.host.run(argv)
    if not res.ok:
        raise command_failed(argv, res)
    return Outcome.done("started")


@register
class TriggerEnrollment(Action):
    name = "enrollment.trigger"
    summary = "Re-enroll in Jamf Pro: profiles renew (ADE) or the enrollment URL for the console user"
    acts_on = ActsOn.DEVICE
    pauses = frozenset({PauseKind.BLOCKED})
    params = {
        "method": Param("str", default="auto", check=_method),
        "enrollment_url": Param("str", default="", check=_https, help="default: <Jamf Pro URL>/enroll from the recorded MDM server"),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        p = step.params
        if not ctx.options.dry_run:
            status = probes.enrollment(ctx.host)
            if status.enrolled:
                return StepPlan(noop_reason=f"enrolled in MDM again ({status.server})")
        plan = StepPlan(notes=[DRY_RUN_NOTE] if ctx.options.dry_run else [])
        dep = ctx.facts.get("mdm", {}).get("dep")
        if p["method"] == "ade" or (p["method"] == "auto" and dep):
            argv = [probes.PROFILES, "renew", "-type", "enrollment"]
            target = " ".join(argv) + " (the user approves the MDM profile)"
            plan.changes.append(Change("command:profiles-renew", ChangeKind.RUN_COMMAND, target, {"argv": argv}))
            return plan
        url = p["enrollment_url"] or (ctx.facts.get("jamf_url") and ctx.facts["jamf_url"] + "/enroll")
        if not url:
            plan.cannot_plan = "no enrollment URL: the Mac had no MDM server recorded; set params.enrollment_url"
            return plan
        change, blocked = open_for_console_user(ctx, url, "command:open-enrollment-url", "open the enrollment page")
        plan.changes += [change] if change else []
        plan.blocked += [blocked] if blocked else []
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        return run_change(ctx, change)

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        if not probes.enrollment(ctx.host).enrolled:
            return Pause("waiting for the user to approve the MDM profile and finish enrollment; `cleanup resume` checks again", kind=PauseKind.BLOCKED)
        return None
