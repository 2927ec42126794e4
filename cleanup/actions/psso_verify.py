"""The repair ladder's `psso-repair` rung ends with this check (playbooks/repair-psso-repair.toml, docs/repair.md): after
the user's Repair (``psso.repair``), ``app-sso platform -s`` as that user shows the device registration completed with
its deviceId, and the user's own registration (User Configuration) in the normal state."""

from __future__ import annotations

from cleanup.actions.jamf_ca import logged_in_users
from cleanup.actions.psso_repair import repair_user
from cleanup.actions.registration_model import psso_in_use
from cleanup.engine.action import Action, ActsOn, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import StepFailed
from cleanup.hosts.registration import read_platform_sso

#: the user states that need the user again (integration reference, section 2)
NEEDS_USER = ("POUserStateNeedsRegistration", "POUserStateNeedsNewKeys")


@register
class VerifyPlatformSSO(Action):
    name = "verify.platform_sso"
    summary = "Check `app-sso platform -s` as the user after the Repair: the registration completed with a deviceId, the user's state normal"
    acts_on = ActsOn.DEVICE

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if ctx.options.dry_run:
            return StepPlan(noop_reason="would check `app-sso platform -s` as the user: the registration completed, the user's own registration normal")
        if not psso_in_use(ctx):
            raise StepFailed("verification failed: Platform SSO is not in use on this Mac (step 0); this rung repairs a Platform SSO registration only")
        user = repair_user(ctx)
        if user is None or user not in logged_in_users(ctx, []):
            who = user.name if user else "the Platform SSO user"
            return StepPlan(blocked=[f"{who} is not logged in: the registration is read in their login session"], waiting_for=[f"login:{who}"])
        state, why = read_platform_sso(ctx.host, user)
        if state is None:
            raise StepFailed(f"verification failed: `app-sso platform -s` as {user.name} cannot be read: {why!r}")
        problems = []
        if not state.registered or state.device_id is None:
            problems.append(f"the registration is not completed with a deviceId (registrationCompleted {state.registration_completed})")
        if state.user is None:
            problems.append(f"{user.name} has no Platform SSO user registration (User Configuration (null))")
        elif state.user.state is not None and state.user.state.name in NEEDS_USER:
            problems.append(f"{user.name}'s Platform SSO state is {state.user.state.raw!r}")
        if problems:
            raise StepFailed(f"verification failed as {user.name}: " + "; ".join(problems))
        shown = state.user.state.raw if state.user and state.user.state else "not shown"
        return StepPlan(noop_reason=f"verified: Platform SSO registered as {user.name} (deviceId {state.device_id}), user state {shown}")
