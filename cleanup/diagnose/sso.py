"""Device checks of the 2026 models, from the Mac's evidence (``cleanup.hosts.registration``, read once per
diagnosis): Device Compliance's values in the jamf plist, MSAL's view (``getPSSOStatus``) and Platform SSO's own
state (``app-sso platform -s``). Read-only; nothing here runs a command of its own.

On a Mac whose model is unknown (no cloud, say) a check whose model is not in use on the Mac says so (``n/a``);
on a Mac of the check's model the same absence is a problem.
"""

from __future__ import annotations

from cleanup.diagnose import model as M
from cleanup.diagnose.device import DeviceData
from cleanup.diagnose.model import shown
from cleanup.diagnose.registration import parse_version
from cleanup.hosts.registration import GET_PSSO_SINCE, JAMF_PLIST
from cleanup.parsers.jamfca import USER_REGISTRATION_APP_IDS

REGISTRATION_APPS = dict(zip(USER_REGISTRATION_APP_IDS, ("User registration app for Device Compliance", "the same app in GCC High"), strict=True))
NEEDS_REGISTRATION, NEEDS_NEW_KEYS = "POUserStateNeedsRegistration", "POUserStateNeedsNewKeys"


def _model(dev: DeviceData) -> str:
    return dev.reg.model() if dev.reg else "unknown"


def _in_model(model: str) -> bool:
    return model in (M.DEVICE_COMPLIANCE, M.PLATFORM_SSO)


def microsoft_ca_settings(dev: DeviceData, now: float):
    """``microsoftCAEnabled`` and ``microsoftCANativeClientAppId`` of /Library/Preferences/com.jamfsoftware.jamf.plist."""
    row = M.MICROSOFT_CA
    model = _model(dev)
    prefs = dev.registration().jamf_prefs
    if prefs is None:
        if not _in_model(model):
            return row.not_applicable(f"no Jamf settings on the Mac ({JAMF_PLIST}): Device Compliance is not in use here")
        return row.problem(
            f"{JAMF_PLIST} is not on the Mac (or cannot be read): Jamf Pro has not set Device Compliance up here",
            {"file": JAMF_PLIST},
            cause="not enrolled in Jamf Pro, or its settings are gone",
            remedy="Enroll the Mac in Jamf Pro again (the article's step 12), then run `sudo jamf manage`.",
        )
    client = prefs.native_client_app_id
    evidence = {
        "file": JAMF_PLIST,
        "microsoftCAEnabled": prefs.ca_enabled,
        "microsoftCANativeClientAppId": client,
        "microsoftCATenantDomainName": prefs.tenant_domain,
        "expected_client_ids": list(USER_REGISTRATION_APP_IDS),
        "notes": list(prefs.notes),
    }
    if prefs.device_compliance:
        app = REGISTRATION_APPS[(client or "").casefold()]
        domain = f", tenant {shown(prefs.tenant_domain)}" if prefs.tenant_domain else ""
        return row.ok(f"Device Compliance is on: microsoftCAEnabled true, client id {client} ({app}){domain}", **evidence)
    if prefs.ca_enabled is None and not client:
        why = "the jamf plist has no microsoftCA… values"
    elif prefs.ca_enabled is not True:
        why = f"microsoftCAEnabled is {shown(prefs.ca_enabled)}: the Mac is not in Device Compliance's Applicable smart group"
    else:
        why = f"microsoftCANativeClientAppId is {shown(client)}, not the User registration app for Device Compliance"
    if not _in_model(model):
        return row.not_applicable(f"Device Compliance is not set up on this Mac: {why}", **evidence)
    return row.problem(f"the Mac is in {M.MODEL_NAMES[model]}, but {why}", evidence)


def _logged_in(dev: DeviceData):
    ev = dev.registration()
    return ev, [u for u in ev.users if u.logged_in]


def psso_status(dev: DeviceData, now: float):
    """``Jamf Conditional Access getPSSOStatus`` of each logged-in user: 0/1/2 and the deviceId MSAL sees."""
    row = M.PSSO_STATUS
    model = _model(dev)
    ev, users = _logged_in(dev)
    evidence: dict = {"jamf_conditional_access": ev.jamf_ca, "version": ev.jamf_ca_version}
    cannot = None
    if ev.jamf_ca is None:
        cannot = "Jamf Conditional Access is not on the Mac"
    elif ev.jamf_ca_version and _older(ev.jamf_ca_version):
        cannot = f"Jamf Conditional Access {shown(ev.jamf_ca_version)} has no getPSSOStatus (Jamf Pro 11.21.1 or later)"
    elif not users:
        cannot = "nobody is logged in: getPSSOStatus runs as a logged-in user"
    if cannot:
        return row.unknown(cannot, **evidence) if _in_model(model) else row.not_applicable(cannot, **evidence)
    shown_users = []
    for u in users:
        st = u.psso_status
        shown_users.append(
            {
                "user": u.name,
                "status": st.status if st else None,
                "status_name": st.status_name if st else None,
                "device_id": st.device_id if st else None,
                "upn": st.upn if st else None,
                "tenant_id": st.tenant_id if st else None,
                "sso_extension_full_mode": st.full_mode if st else None,
                "timed_out": st.timed_out if st else None,
                "has_dictionary": st.has_dictionary if st else None,
            }
        )
    evidence["users"] = shown_users
    evidence["notes"] = [n for n in ev.notes if "getPSSOStatus" in n]
    unread = [s["user"] for s in shown_users if s["status"] is None]
    half = [s for s in shown_users if s["status"] == 1]
    if half:
        s = half[0]
        return row.problem(f"getPSSOStatus as {s['user']}: 1 (MSALPlatformSSOEnabledNotRegistered): Platform SSO is on, the registration is not done", evidence)
    if model == M.PLATFORM_SSO:
        off = [s for s in shown_users if s["status"] == 0]
        if off:
            return row.problem(f"getPSSOStatus as {off[0]['user']}: 0 (MSALPlatformSSONotEnabled), while the Mac shows a Platform SSO registration", evidence)
    if unread and len(unread) == len(shown_users):
        return row.unknown(f"getPSSOStatus gave no status for {', '.join(unread)} (see the notes)", **evidence)
    lines = "; ".join(f"{s['user']}: {s['status']} ({s['status_name']})" + (f", deviceId {s['device_id']}" if s["device_id"] else "") for s in shown_users)
    if _in_model(model):
        # only a printed dictionary without a device id says "no registration"; a bare status line says nothing
        unregistered = [s["user"] for s in shown_users if s["status"] == 0 and s["has_dictionary"] and not s["device_id"]]
        if unregistered and model == M.DEVICE_COMPLIANCE:
            return row.problem(
                f"MSAL sees no registration for {', '.join(unregistered)} (getPSSOStatus 0, no device id)",
                evidence,
                cause="not registered with Entra",
                remedy=M.REGISTER,
            )
    return row.ok(f"getPSSOStatus: {lines}", **evidence)


def _older(version: str) -> bool:
    found = parse_version(version)
    return found is not None and found < GET_PSSO_SINCE


def app_sso(dev: DeviceData, now: float):
    """``app-sso platform -s`` of each logged-in user: registrationCompleted, the deviceId, the user's state."""
    row = M.APP_SSO
    model = _model(dev)
    ev, users = _logged_in(dev)
    cannot = None
    if "app-sso" in ev.missing:
        cannot = "app-sso is not on this Mac"
    elif not users:
        cannot = "nobody is logged in: app-sso platform -s runs as a logged-in user"
    if cannot:
        return row.unknown(cannot) if _in_model(model) else row.not_applicable(cannot)
    states = [(u, u.platform_sso) for u in users]
    evidence = {"users": [_state_view(u.name, st) for u, st in states], "notes": [n for n in ev.notes if n.startswith("app-sso")]}
    configured = [(u, st) for u, st in states if st is not None and st.configured]
    if not configured:
        if any(st is None for _, st in states):
            return row.unknown("app-sso platform -s could not be read (see the notes)", **evidence)
        why = "app-sso shows no Platform SSO configuration (all three sections (null))"
        if model == M.PLATFORM_SSO:
            return row.problem(f"the Mac is in Platform SSO, but {why}", evidence)
        return row.not_applicable(f"Platform SSO is not set up on this Mac: {why}", **evidence)
    for u, st in configured:
        if st.registration_completed is not True:
            done = shown(st.registration_completed)
            return row.problem(f"as {u.name}: registrationCompleted is {done}: the Mac's Platform SSO registration is not done", evidence)
        if st.certificate is None:
            return row.problem(f"as {u.name}: registrationCompleted is true but there is no deviceSigningCertificate", evidence)
        user_state = st.user.state if st.user else None
        if user_state is not None and user_state.name in (NEEDS_REGISTRATION, NEEDS_NEW_KEYS):
            return row.problem(f"{u.name}'s Platform SSO state is {shown(user_state.raw)}", evidence)
        if st.user is None and model == M.PLATFORM_SSO:
            return row.problem(f"the Mac is registered, but {u.name} has no Platform SSO user registration (User Configuration (null))", evidence)
    ids = sorted({st.device_id for _, st in configured if st.device_id})
    if len(ids) > 1:
        return row.problem(
            f"the users' Platform SSO registrations name {len(ids)} deviceIds ({', '.join(ids)})",
            evidence,
            cause="Cause 6: registered several times without cleanup",
            remedy=M.PSSO_REPAIR,
        )
    if not ids:
        note = next((st.certificate.problem for _, st in configured if st.certificate and st.certificate.problem), None)
        return row.unknown("Platform SSO is registered, but the deviceId cannot be read" + (f": {shown(note, 120)}" if note else ""), **evidence)
    key = "a Secure Enclave key" if any(st.secure_enclave for _, st in configured) else "a password"
    return row.ok(f"Platform SSO registered (deviceId {ids[0]}, login with {key})", **evidence)


def _state_view(user: str, st) -> dict:
    if st is None:
        return {"user": user, "read": False}
    return {
        "user": user,
        "configured": st.configured,
        "registrationCompleted": st.registration_completed,
        "deviceId": st.device_id,
        "loginType": st.login_type.raw if st.login_type else None,
        "secure_enclave": st.secure_enclave,
        "extensionIdentifier": st.extension_identifier,
        "user_state": st.user.state.raw if st.user and st.user.state else None,
        "loginUserName": st.user.login_user_name if st.user else None,
        "tenant_id": st.tenant_id,
        "tokens_expired": st.tokens.expired if st.tokens else None,
        "certificate_sha1": st.certificate.sha1 if st.certificate else None,
    }


CHECKS = [microsoft_ca_settings, psso_status, app_sso]
ROWS = {microsoft_ca_settings: M.MICROSOFT_CA, psso_status: M.PSSO_STATUS, app_sso: M.APP_SSO}
