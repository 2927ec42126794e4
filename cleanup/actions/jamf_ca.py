"""Before anything of Jamf's is removed: ``Jamf Conditional Access clean`` as each logged-in user.

This is what Jamf's own tooling does before it deregisters a Mac: the tool removes the user's jamfAAD token (the
``com.jamf.management.jamfAAD`` item in the login keychain, ``have_an_Azure_id``, ``last_aad_token_timestamp``). It
runs on a Mac in the 2026 models (Device Compliance, Platform SSO); on a legacy Mac the reset stays as it was. It
must run before step 3 (``jamf removeFramework`` removes ``/Library/Application Support/JAMF`` and the tool with it).

It is a preparation, not the removal itself: steps 6 and 7 remove the same preferences and token in any case. So a
user for whom the tool fails (exit 1: the keychain locked since the plan, say) is reported and the run goes on.
"""

from __future__ import annotations

import shlex

from cleanup.actions.registration_model import model_of, psso_in_use
from cleanup.engine.action import Action, ActsOn, Outcome, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import UnsafePath
from cleanup.hosts import probes
from cleanup.hosts.base import LAUNCHCTL, SUDO, LocalUser
from cleanup.hosts.registration import JAMF_CA_PATHS

VERB = "clean"
MODELS = ("device-compliance", "platform-sso")


def jamf_ca_binary(ctx: RunContext) -> str | None:
    """The Jamf Conditional Access binary by whichever of its two spellings exists (one file on APFS)."""
    for path in JAMF_CA_PATHS:
        info = ctx.host.lstat(path)
        if info is not None and info.kind in ("file", "link"):
            return path
    return None


def as_user_text(user: LocalUser, argv: list[str]) -> str:
    """The exact command line a change runs as ``user`` (what ``Host.run_as_user`` runs)."""
    return shlex.join([LAUNCHCTL, "asuser", str(user.uid), SUDO, "-u", user.name, *argv])


def as_user_change(user: LocalUser, argv: list[str], key: str, **extra: object) -> Change:
    """A change that runs ``argv`` as ``user`` (checked again by :func:`planned_user` when it applies)."""
    return Change(key, ChangeKind.RUN_COMMAND, as_user_text(user, argv), {"argv": argv, "as_user": user.name, "uid": user.uid, **extra})


def planned_user(ctx: RunContext, change: Change) -> LocalUser:
    """The real local user a change was planned for, by name and uid: never root or anyone else instead."""
    d = change.details
    user = next((u for u in ctx.users if u.name == d["as_user"] and u.uid == d["uid"]), None)
    if user is None or user.uid < probes.FIRST_REAL_UID:
        raise UnsafePath(f"{change.target}: {d['as_user']!r} is not a real local user of this Mac; never run as root or another user")
    return user


def logged_in_users(ctx: RunContext, notes: list[str]) -> list[LocalUser]:
    """The real local users with a login session now (``ps``: who owns a loginwindow; else the console user)."""
    sessions = probes.gui_session_uids(ctx.host)
    if sessions is None:
        console = probes.console_user_name(ctx.host)
        notes.append("ps cannot tell who is logged in: only the console user is taken as logged in")
        sessions = frozenset(u.uid for u in ctx.users if u.name == console)
    return [u for u in ctx.users if u.uid in sessions and u.uid >= probes.FIRST_REAL_UID]


@register
class CleanConditionalAccess(Action):
    name = "jamf_ca.clean"
    summary = "Run `Jamf Conditional Access clean` as each logged-in user (Device Compliance and Platform SSO Macs), before the framework goes"
    acts_on = ActsOn.DEVICE

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        model = model_of(ctx)
        if model not in MODELS and not psso_in_use(ctx):
            return StepPlan(noop_reason=f"registration model {model}: the Mac shows neither Device Compliance nor Platform SSO: the legacy reset, as before")
        ca = jamf_ca_binary(ctx)
        if ca is None:
            return StepPlan(noop_reason=f"Jamf Conditional Access is not on this Mac ({JAMF_CA_PATHS[0]}, either spelling)")
        plan = StepPlan()
        users = logged_in_users(ctx, plan.notes)
        for u in ctx.users:
            if u not in users:
                plan.notes.append(f"{u.name} is not logged in: `Jamf Conditional Access clean` runs only in a user's session; step 7 removes the token")
        argv = [ca, VERB]
        plan.changes += [as_user_change(u, argv, f"command:jamf-ca-clean:{u.name}") for u in users]
        if not plan.changes:
            plan.noop_reason = "nobody is logged in: `Jamf Conditional Access clean` runs only in a user's session (steps 6 and 7 remove what it would)"
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        user = planned_user(ctx, change)
        res = ctx.host.run_as_user(user, change.details["argv"])
        if res.ok:
            return Outcome.done(f"cleaned as {user.name}")
        if res.returncode == 127:
            return Outcome.unchanged(f"not run as {user.name}: Jamf Conditional Access is gone")
        detail = (res.stderr or res.stdout).strip()[:160]
        return Outcome.unchanged(
            f"not cleaned as {user.name} (exit {res.returncode}: {detail!r}); the run goes on: step 6 removes the jamfAAD preferences and step 7 the token"
        )
