"""After re-enrollment, on a Mac where Platform SSO is in use: the operator repairs the registration, the run checks it.

Platform SSO registrations are repaired through the supported path only (System Settings, or Company Portal on
macOS 13), by the user, at the Mac: the step pauses with the exact instructions (``waiting_for``
``psso-repair:<user>``) and, on resume, reads ``app-sso platform -s`` as that user. It goes on only when the
registration is completed with a deviceId that step 0 did not record for this Mac: every Platform SSO registration
creates a new Entra deviceId, and the old one's Entra device is deleted in step 5 (a soft-deleted device keeps its
deviceId reserved), so a registration still showing an old deviceId is the dead one, not a repair. The result is kept
for verification as the step's ``data["psso"]`` (``user``, ``device_id``, ``checked_at``). Each time the step pauses
in a real run, the console user is told what to do (docs/notifications.md).
"""

from __future__ import annotations

from cleanup.actions import notices
from cleanup.actions.jamf_ca import logged_in_users
from cleanup.actions.registration_model import psso_in_use
from cleanup.engine.action import Action, ActsOn, Pause, PauseKind, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.hosts.base import LocalUser
from cleanup.hosts.registration import read_platform_sso

SYSTEM_SETTINGS = "System Settings → Users & Groups → Network Account Server → Edit → Repair"
COMPANY_PORTAL = "Company Portal → Preferences → Deregister, then register"


def recorded_ids(facts: dict) -> set[str]:
    """Every Entra deviceId step 0 recorded for this Mac: Platform SSO, MSAL's view, Workplace Join, the cloud's."""
    reg = facts.get("registration") or {}
    ids = set(reg.get("psso_device_ids") or []) | set((reg.get("msal_device_ids") or {}).values())
    ids |= {u["psso_device_id"] for u in reg.get("users") or [] if u.get("psso_device_id")}
    ids |= {i for found in (facts.get("entra_device_ids") or {}).values() for i in found}
    ids |= {d["deviceId"] for d in (facts.get("cloud") or {}).get("entra") or [] if d.get("deviceId")}
    return {i.casefold() for i in ids}


def repair_user(ctx: RunContext) -> LocalUser | None:
    """The user whose Platform SSO registration step 0 saw (the console user first), else the console user."""
    reg = ctx.facts.get("registration") or {}
    names = [u["name"] for u in reg.get("users") or [] if u.get("psso_registered") or u.get("psso_status") == 2]
    console = ctx.facts.get("console_user")
    name = console if console in names else next(iter(names), console)
    return next((u for u in ctx.users if u.name == name), None)


def repair_path(ctx: RunContext) -> str:
    """Where the user repairs it on this Mac's macOS."""
    major = (ctx.facts.get("os_version") or "").split(".")[0]
    if major.isdigit() and int(major) >= 14:
        return f"{SYSTEM_SETTINGS} (macOS {ctx.facts['os_version']})"
    if major == "13":
        return f"{COMPANY_PORTAL} (macOS {ctx.facts['os_version']})"
    return f"on macOS 14 and later {SYSTEM_SETTINGS}; on macOS 13 {COMPANY_PORTAL}"


def instructions(ctx: RunContext, user: LocalUser) -> str:
    return f"repair Platform SSO as {user.name}: at the Mac, logged in as {user.name}, {repair_path(ctx)}, and sign in"


@register
class RepairPlatformSSO(Action):
    name = "psso.repair"
    summary = "Platform SSO Macs: pause for the operator's Repair of the registration, then check `app-sso platform -s` as the user"
    acts_on = ActsOn.DEVICE
    pauses = frozenset({PauseKind.BLOCKED})

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if not psso_in_use(ctx):
            return StepPlan(noop_reason="Platform SSO is not in use on this Mac (step 0): nothing to repair")
        user = repair_user(ctx)
        if user is None:
            return StepPlan(cannot_plan="Platform SSO is in use, but neither its user nor a console user is a local user of this Mac")
        todo = instructions(ctx, user)
        notices.record(ctx)
        if ctx.options.dry_run:
            check = f"then `cleanup resume` reads `app-sso platform -s` as {user.name} and goes on once the registration is completed with a new deviceId"
            return StepPlan(noop_reason=f"would pause here for the operator: {todo}", notes=[check])
        done = ctx.data.get("psso")
        if done:
            return StepPlan(noop_reason=f"Platform SSO repaired as {done['user']}: deviceId {done['device_id']}")
        did, why = self._check(ctx, user)
        if did is not None:
            ctx.data.pop("psso_pending", None)
            ctx.data["psso"] = {"user": user.name, "device_id": did, "checked_at": ctx.clock()}
            return StepPlan(noop_reason=f"Platform SSO repaired as {user.name}: the registration is completed with the new deviceId {did}")
        ctx.data["psso_pending"] = {"user": user.name, "why": why}
        return StepPlan(noop_reason=f"waiting for the Platform SSO repair as {user.name}", notes=[todo, f"now: {why}"])

    @staticmethod
    def _check(ctx: RunContext, user: LocalUser) -> tuple[str | None, str]:
        """The new deviceId when the repair is done, else None and what ``app-sso`` shows instead."""
        if user not in logged_in_users(ctx, []):
            return None, f"{user.name} is not logged in (the registration is read in {user.name}'s login session)"
        state, problem = read_platform_sso(ctx.host, user)
        if state is None:
            return None, f"`app-sso platform -s` as {user.name} cannot be read: {problem!r}"  # the Mac's words, quoted
        if not state.registered:
            return None, f"`app-sso platform -s` as {user.name} shows no completed registration"
        if state.device_id is None:
            why = state.certificate.problem if state.certificate else None
            return None, f"the registration is completed, but its deviceId is unknown ({repr(why) if why else 'no signing certificate'})"
        if state.device_id.casefold() in recorded_ids(ctx.facts):
            before = "the registration from before the reset, whose Entra device step 5 deletes"
            return None, f"`app-sso platform -s` still shows deviceId {state.device_id}, which step 0 recorded ({before})"
        return state.device_id.casefold(), ""

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        pending = ctx.data.get("psso_pending")
        if ctx.options.dry_run or not pending or ctx.data.get("psso"):
            return None
        user = next((u for u in ctx.users if u.name == pending["user"]), None)
        todo = instructions(ctx, user) if user else f"repair Platform SSO as {pending['user']}"
        told = notices.tell(ctx, "psso-repair", user=pending["user"], how=repair_path(ctx))
        return Pause(
            f"step {step.number} ({step.id}): {todo}. Then `cleanup resume {ctx.run_id}`: it reads `app-sso platform -s` as {pending['user']} "
            + notices.with_told(f"and goes on once the registration is completed with a new deviceId (now: {pending['why']})", told),
            kind=PauseKind.BLOCKED,
            waiting_for=(f"psso-repair:{pending['user']}",),
        )
