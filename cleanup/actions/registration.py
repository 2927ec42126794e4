"""Step 13 (device part): start the registration policy once the Jamf framework is back.

By default ``jamf policy -event X`` as root: Jamf runs the policy's Device Compliance payload for the console user.
``register_with_intune`` runs ``Jamf Conditional Access registerWithIntune`` as the console user instead. Never
Company Portal's own sign-in (a Device Compliance tenant answers ``AccountNotOnboarded``), never ``gatherAADInfo``
as root. In a real run the console user is told first that a sign-in window will ask them to register
(docs/notifications.md).
"""

from __future__ import annotations

from cleanup.actions import notices
from cleanup.actions.enrollment import DRY_RUN_NOTE, open_for_console_user, run_change
from cleanup.actions.jamf_binary import JAMF
from cleanup.actions.jamf_ca import as_user_text, jamf_ca_binary
from cleanup.actions.scope import jamf_binary_problem
from cleanup.engine.action import Action, ActsOn, Outcome, Param, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.hosts import probes
from cleanup.hosts.registration import JAMF_CA_PATHS


def _policy_check(v: str) -> str | None:
    return None if v == "" or v.isdigit() else "must be a Jamf Pro policy id (digits)"


@register
class StartRegistration(Action):
    name = "registration.start"
    summary = "Start the Entra/Intune registration policy (jamf policy, or Self Service for the user)"
    acts_on = ActsOn.DEVICE
    params = {
        "jamf_binary": Param("str", default=JAMF, check=jamf_binary_problem),
        "policy_event": Param("str", default="", help="custom trigger of the registration policy"),
        "policy_id": Param("str", default="", check=_policy_check),
        "self_service": Param("bool", default=False, help="open the policy in Self Service for the console user instead"),
        "register_with_intune": Param(
            "bool", default=False, help="run `Jamf Conditional Access registerWithIntune` as the console user instead of the policy (Device Compliance)"
        ),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        notices.record(ctx)
        ctx.data.pop("told", None)
        plan = self._plan(ctx, step)
        if plan.changes:
            plan.notes.append(notices.plan_note(ctx, "before the registration starts"))
            # told now, before its intent is logged: a `once` change cut short is never started again
            told = notices.tell(ctx, "register")
            if told is not None:
                ctx.data["told"] = told.text()
        return plan

    def _plan(self, ctx: RunContext, step: Step) -> StepPlan:
        p = step.params
        plan = StepPlan(notes=[DRY_RUN_NOTE] if ctx.options.dry_run else [])
        if p["register_with_intune"]:
            return self._register_as_user(ctx, plan)
        if not (p["policy_event"] or p["policy_id"]):
            plan.cannot_plan = "the playbook names no registration policy (params.policy_event or params.policy_id)"
            return plan
        if p["self_service"]:
            if not p["policy_id"]:
                plan.cannot_plan = "Self Service needs params.policy_id"
                return plan
            url = f"jamfselfservice://content?entity=policy&id={p['policy_id']}&action=execute"
            change, blocked = open_for_console_user(ctx, url, "command:self-service-policy", "start the policy in Self Service")
            plan.changes += [change] if change else []
            plan.blocked += [blocked] if blocked else []
            return plan
        if not ctx.options.dry_run and ctx.host.lstat(p["jamf_binary"]) is None:
            plan.blocked.append("the Jamf framework is not back yet (re-enrollment installs it); `cleanup resume` retries")
            return plan
        argv = [p["jamf_binary"], "policy", "-event", p["policy_event"]] if p["policy_event"] else [p["jamf_binary"], "policy", "-id", p["policy_id"]]
        plan.changes.append(Change("command:registration-policy", ChangeKind.RUN_COMMAND, " ".join(argv), {"argv": argv, "once": True}))
        return plan

    @staticmethod
    def _register_as_user(ctx: RunContext, plan: StepPlan) -> StepPlan:
        # the binary comes back with the framework (re-enrollment); a dry-run plans it by the path it will have
        ca = jamf_ca_binary(ctx) or (JAMF_CA_PATHS[0] if ctx.options.dry_run else None)
        if ca is None:
            plan.blocked.append("Jamf Conditional Access is not back yet (re-enrollment installs the Jamf framework); `cleanup resume` retries")
            return plan
        name = probes.console_user_name(ctx.host)
        user = next((u for u in ctx.users if u.name == name and u.uid >= probes.FIRST_REAL_UID), None)
        if user is None:
            plan.blocked.append("nobody is logged in at the Mac: registerWithIntune runs as the console user; `cleanup resume` retries")
            return plan
        argv = [ca, "registerWithIntune"]
        details = {"argv": argv, "as_user": user.name, "once": True}
        plan.changes.append(Change("command:register-with-intune", ChangeKind.RUN_COMMAND, as_user_text(user, argv), details))
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        done = run_change(ctx, change)
        told = ctx.data.get("told")
        return Outcome(done.changed, f"{done.text}; at the Mac: {told}") if isinstance(told, str) else done
