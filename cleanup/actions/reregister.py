"""The repair ladder's `register` rung (playbooks/repair-register.toml, docs/repair.md): the registration run again as
the console user, never as root.

- ``registration.register_user``: Device Compliance's ``Jamf Conditional Access registerWithIntune``, only for a user
  who holds no registration: registering a Mac that has one makes a second Entra device (Cause 6's duplicates), so a
  registration the Mac holds is kept and only renewed. A legacy Mac without one is left to the full reset (its
  registration policy, step 13); a Platform SSO Mac to the user's Repair.
- ``registration.acquire``: ``gatherAADInfo`` once the user holds a registration: jamfAAD acquires the Entra ID and a
  token again (legacy, Device Compliance and Platform SSO alike). While the user has not finished a registration
  that was started, the step waits for them (paused; ``cleanup repair`` continues).
- ``verify.user_registration``: the user holds a registration on the Mac, and jamfAAD has its Entra ID with a token
  from the last 24 hours.

The user's registration is read as that user: ``app-sso platform -s`` and ``getPSSOStatus`` (MSAL's deviceId), else
the Workplace Join certificate in the login keychain (the deviceId is its common name).
"""

from __future__ import annotations

from cleanup.actions.jamf_ca import as_user_change, jamf_ca_binary, logged_in_users, planned_user
from cleanup.actions.keychain_items import LOGIN_KEYCHAIN, read_keychain
from cleanup.actions.registration_model import model_of, psso_in_use
from cleanup.engine.action import Action, ActsOn, Outcome, command_failed, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, StepPlan
from cleanup.errors import HostError, StepFailed
from cleanup.hosts import probes
from cleanup.hosts.base import LocalUser
from cleanup.hosts.registration import JAMF_CA_PATHS, JAMFAAD_PREFS, MAX_PLIST_BYTES, read_registration_evidence
from cleanup.identifiers import guid_or_none
from cleanup.parsers.jamfca import parse_gather_aad_info, parse_jamfaad_prefs

WPJ_ISSUER = "ms-organization-access"
DAY = 86400.0


def console_user(ctx: RunContext) -> LocalUser | None:
    """The real local user at the console with a login session now, or None."""
    name = probes.console_user_name(ctx.host)
    return next((u for u in logged_in_users(ctx, []) if u.name == name), None)


def _nobody(what: str) -> StepPlan:
    return StepPlan(
        blocked=[f"nobody is logged in at the Mac: {what} runs as the console user; `cleanup repair` continues once they are"], waiting_for=["login:console"]
    )


def held_registration(ctx: RunContext, user: LocalUser) -> tuple[str | None, str]:
    """The Entra deviceId of the registration ``user`` holds on the Mac now, and where it was seen (None, "": none)."""

    def read() -> tuple[str | None, str]:
        ev = read_registration_evidence(ctx.host, users=[user], sessions=frozenset({user.uid}))
        for u in ev.users:
            if u.platform_sso and u.platform_sso.registered and u.platform_sso.device_id:
                return u.platform_sso.device_id.casefold(), "Platform SSO (app-sso)"
            if u.psso_status and u.psso_status.device_id:
                return u.psso_status.device_id.casefold(), "MSAL (getPSSOStatus)"
        try:
            view = read_keychain(ctx.host, f"{user.home}/{LOGIN_KEYCHAIN}", user, True)
        except HostError:
            return None, ""
        for item in view.items:
            is_wpj = item.item_class == "cert" and (item.issuer_cn or "").casefold() == WPJ_ISSUER
            if is_wpj and (did := guid_or_none(item.get("labl") or item.subject_cn)):
                return did, "the Workplace Join certificate in the login keychain"
        return None, ""

    return ctx.memo(f"registration:{user.name}", read)


def _run_as_planned_user(ctx: RunContext, change: Change):
    d = change.details
    user = planned_user(ctx, change)
    res = ctx.host.run_as_user(user, d["argv"])
    if not res.ok:
        raise command_failed(d["argv"], res)
    return user, res


def _jamf_ca(ctx: RunContext) -> str:
    ca = jamf_ca_binary(ctx)
    if ca is None:
        raise StepFailed(f"Jamf Conditional Access is not on this Mac ({JAMF_CA_PATHS[0]}, either spelling): the Jamf framework is missing or too old")
    return ca


@register
class RegisterUser(Action):
    name = "registration.register_user"
    summary = "Device Compliance: `Jamf Conditional Access registerWithIntune` as the console user, only when they hold no registration"
    acts_on = ActsOn.DEVICE

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        user = console_user(ctx)
        if user is None:
            return _nobody("registerWithIntune")
        device_id, where = held_registration(ctx, user)
        if device_id:
            return StepPlan(
                noop_reason=f"{user.name} holds a registration (deviceId {device_id}, {where}): kept, not registered again (a second registration "
                "makes a second Entra device); the next step renews it"
            )
        model = model_of(ctx)
        if model == "platform-sso" or psso_in_use(ctx):
            raise StepFailed(f"{user.name} holds no registration, and Platform SSO registers this Mac: the user's Repair does it (rung psso-repair)")
        if model != "device-compliance":
            raise StepFailed(
                f"{user.name} holds no registration, and the Mac is not in Jamf Device Compliance (model {model}): registerWithIntune is Device "
                "Compliance's; the legacy integration registers through its Self Service policy (the full reset's step 13)"
            )
        argv = [_jamf_ca(ctx), "registerWithIntune"]
        return StepPlan(changes=[as_user_change(user, argv, "command:register-with-intune", once=True)])  # each run makes a new Entra device

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        user, _ = _run_as_planned_user(ctx, change)
        return Outcome.done(f"registration started for {user.name}")


@register
class AcquireEntraId(Action):
    name = "registration.acquire"
    summary = "`Jamf Conditional Access gatherAADInfo` as the console user: jamfAAD acquires the Entra ID and token of the user's registration again"
    acts_on = ActsOn.DEVICE

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        user = console_user(ctx)
        if user is None:
            return _nobody("gatherAADInfo")
        argv = [_jamf_ca(ctx), "gatherAADInfo"]
        if ctx.options.dry_run:
            plan = StepPlan(notes=["planned as it runs once the user holds a registration (after the step before, if it registers them)"])
        else:
            device_id, _ = held_registration(ctx, user)
            if device_id is None:
                return StepPlan(
                    blocked=[f"waiting for {user.name} to finish the registration at the Mac (Company Portal's sign-in): gatherAADInfo needs it"],
                    waiting_for=[f"registration:{user.name}"],
                )
            plan = StepPlan()
        plan.changes.append(as_user_change(user, argv, "command:gather-aad-info"))
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        user, res = _run_as_planned_user(ctx, change)
        info = parse_gather_aad_info(res.stdout)
        if not info.acquired:
            raise StepFailed(f"gatherAADInfo as {user.name} acquired no Entra ID: {info.message!r}")
        return Outcome.done(f"Entra ID acquired for {user.name}")


def jamfaad_problems(ctx: RunContext, user: LocalUser, now: float) -> list[str]:
    """What is wrong with ``user``'s jamfAAD preferences: no Entra ID, or no token from the last 24 hours."""
    path = f"{user.home}/{JAMFAAD_PREFS}"
    info = ctx.host.lstat(path)
    if info is None or info.kind != "file" or info.size > MAX_PLIST_BYTES:
        return [f"{path} is {'absent' if info is None else 'not a plist file it can read'}"]
    try:
        prefs = parse_jamfaad_prefs(ctx.host.read_bytes(path))
    except (HostError, ValueError) as exc:
        return [f"{path} cannot be read: {getattr(exc, 'message', exc)}"]
    problems = []
    if prefs.have_an_azure_id is not True:
        problems.append(f"jamfAAD has no Entra ID for {user.name} (have_an_Azure_id {prefs.have_an_azure_id})")
    if prefs.last_token is None or now - prefs.last_token > DAY:
        problems.append(f"jamfAAD's last token for {user.name} is not from the last 24 hours")
    return problems


@register
class VerifyUserRegistration(Action):
    name = "verify.user_registration"
    summary = "Check the console user's registration on the Mac and that jamfAAD acquired its Entra ID within the last 24 hours"
    acts_on = ActsOn.DEVICE

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if ctx.options.dry_run:
            return StepPlan(noop_reason="would check the console user's registration (deviceId) and jamfAAD's Entra ID and token")
        user = console_user(ctx)
        if user is None:
            return _nobody("the check of the registration")
        device_id, where = held_registration(ctx, user)
        problems = (
            [] if device_id else [f"{user.name} holds no registration on the Mac (no Workplace Join certificate; MSAL and Platform SSO name no deviceId)"]
        )
        problems += jamfaad_problems(ctx, user, ctx.clock())
        if problems:
            raise StepFailed("verification failed: " + "; ".join(problems))
        return StepPlan(noop_reason=f"verified: {user.name}'s registration (deviceId {device_id}, {where}); jamfAAD holds its Entra ID and a fresh token")
