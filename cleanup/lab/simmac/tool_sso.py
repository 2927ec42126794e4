"""The fakes of the 2026 registration models: ``app-sso``, ``Jamf Conditional Access`` and ``profiles list|show``.

- ``/usr/bin/app-sso platform -s|--state``: the Device, Login and User Configuration of ``state["sso"]["psso"]`` as
  the calling user sees them (root and unregistered users: User Configuration ``(null)``); all three ``(null)`` when
  the Mac has no Platform SSO. Exit 0 either way (the real exit status without PSSO is not known).
- ``Jamf Conditional Access`` (both spellings of the binary): ``getPSSOStatus`` (Jamf 11.21.1+; older: a usage
  error) prints the status line and the ``extraDeviceInformation`` dictionary in ``psso_status_shape``; ``version``
  prints ``version=<x>``; ``clean``, ``gatherAADInfo`` and ``registerWithIntune`` run only as a logged-in user.
  ``clean`` removes the user's jamfAAD token (the ``com.jamf.management.jamfAAD`` password in the login keychain,
  ``have_an_Azure_id``/``last_aad_token_timestamp`` in the user's jamfAAD plist, the acquired Entra ID); it leaves the
  Workplace Join items, which field scripts remove separately. ``gatherAADInfo`` acquires the Entra ID of the user's
  registration (PSSO, else the Workplace Join certificate) and says so in Microsoft's words; without a registration
  it fails (exit 1). ``registerWithIntune`` registers the user as the Self Service policy does (the linked tenant's
  registration for the console user, else a new local Workplace Join registration).
- ``profiles list`` / ``profiles show -type configuration`` (as root: the computer-level profiles, the MDM profile
  included while enrolled); other verbs go to the ``profiles`` of ``tool_mdm``. A profile the MDM installed (the
  Platform SSO profile) leaves with the MDM profile and is back once the Mac is enrolled again, as Jamf Pro sends
  it again; while no Extensible SSO profile is installed, ``app-sso`` and ``getPSSOStatus`` see no Platform SSO.
- Every call of ``clean``, ``gatherAADInfo`` and ``registerWithIntune`` is recorded in ``state["jamf_ca_calls"]``
  (verb, user, uid), refused ones included.
"""

from __future__ import annotations

import os
import time

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac import sso_model as M
from cleanup.lab.simmac.fakes import Ctx, Fail, out, usage

JAMFAAD_PREFS = "Library/Preferences/com.jamf.management.jamfAAD.plist"
JAMFAAD_SERVICE = "com.jamf.management.jamfAAD"
WPJ_ISSUER = "MS-ORGANIZATION-ACCESS"
MDM_PROFILE = {
    "identifier": "00000000-0000-0000-A000-4A414D460003",
    "name": "MDM Profile",
    "organization": "Example Corp",
    "uuid": "4A414D46-0003-4000-A000-000000000003",
    "payloads": [{"type": "com.apple.mdm", "name": "MDM", "identifier": "com.jamfsoftware.mdm", "uuid": "4A414D46-0003-4000-A000-0000000000A1"}],
}


def _sso(ctx: Ctx) -> dict:
    return ctx.state.get("sso") or {}


def _session_user(ctx: Ctx) -> dict | None:
    """The user the command acts for: the caller, or for root the user whose session ``launchctl asuser`` entered."""
    if not ctx.is_root:
        return ctx.me
    uid = os.environ.get("SIMMAC_ASUSER")
    return C.user_by_uid(ctx.users, int(uid)) if uid and uid.isdigit() and int(uid) != 0 else None


# --------------------------------------------------------------------------- app-sso


def _ordered(obj):
    """Keys as app-sso prints them: ``_``-keys first, then case-insensitively sorted."""
    if isinstance(obj, dict):
        return {k: _ordered(obj[k]) for k in sorted(obj, key=lambda k: (not k.startswith("_"), k.casefold()))}
    if isinstance(obj, list):
        return [_ordered(v) for v in obj]
    return obj


def _object(obj) -> str:
    import json

    text = json.dumps(_ordered(obj), indent=2, separators=(",", " : "))
    if isinstance(obj.get("sdkVersionString"), float):  # printed as captured, not as Python's shortest repr
        text = text.replace(f'"sdkVersionString" : {obj["sdkVersionString"]!r}', '"sdkVersionString" : 15.199999999999999')
    return " " + text


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def t_app_sso(ctx: Ctx, argv: list[str]):
    if argv[:1] != ["platform"] or argv[1:] not in (["-s"], ["--state"]):
        usage("Usage: app-sso platform -s | --state")
    psso = M.psso_active(ctx.state)
    user = None if ctx.is_root else ctx.me
    user_cfg = (psso or {}).get("users", {}).get(user["name"]) if user else None
    now = time.time()
    out(time.strftime("Time: %Y-%m-%d %H:%M:%S +0000", time.gmtime(now)))
    out()
    for title, section in (
        ("Device Configuration", (psso or {}).get("device_config")),
        ("Login Configuration", (psso or {}).get("login_config")),
        ("User Configuration", user_cfg),
    ):
        out(f"{title}:")
        out(_object(section) if section else " (null)")
        out()
    if user_cfg and psso and psso.get("device_id"):
        out("SSO Tokens:")
        out("Received:")
        out(_when(now - 3600))
        out("Expiration:")
        out(_when(now - 3600 + 14 * 86400 - 1) + " (Not Expired)")
        out()
    return 0


# --------------------------------------------------------------------------- Jamf Conditional Access


def _login_keychain(ctx: Ctx, user: dict) -> tuple[str, dict] | None:
    path = ctx.host(f"{user['home']}/{C.LOGIN_KEYCHAIN_REL}")
    return (path, C.load_keychain(path)) if os.path.isfile(path) else None


def _registration(ctx: Ctx, user: dict) -> dict | None:
    """The user's Entra registration as MSAL would report it: PSSO first, else the Workplace Join certificate."""
    psso = M.psso_active(ctx.state) or {}
    upn = f"{user['name']}@{M.TENANT_DOMAIN}"
    if psso.get("device_id") and user["name"] in psso.get("users", {}):
        import hashlib

        der = M.signing_certificate(psso["device_id"])
        return {"upn": upn, "device_id": psso["device_id"], "thumbprint": hashlib.sha1(der).hexdigest().upper(), "kind": "psso"}
    if user["name"] not in (ctx.state.get("logged_in") or []):
        return None  # the login keychain is locked
    found = _login_keychain(ctx, user)
    if found is None:
        return None
    items = found[1].get("items", [])
    cert = next((i for i in items if i.get("class") == "cert" and (i.get("issuer_cn") or "").upper() == WPJ_ISSUER), None)
    if cert is None:
        return None
    named = next((i for i in items if i.get("class") == "genp" and i.get("svce") == "com.microsoft.workplacejoin.registeredUserPrincipalName"), None)
    return {"upn": (named or {}).get("password") or upn, "device_id": cert.get("labl"), "thumbprint": cert.get("sha1"), "kind": "wpj"}


def _psso_status(ctx: Ctx, user: dict | None) -> int:
    psso = M.psso_active(ctx.state)
    if not psso:
        return 0
    registered = bool(psso.get("device_id")) and user is not None and user["name"] in psso.get("users", {})
    return 2 if registered else 1


def _dictionary(pairs: list[tuple[str, str]], shape: str) -> str:
    quote = '"' if shape == "quoted" else ""
    body = ", ".join(f'AnyHashable("{k}"): {quote}{v}{quote}' for k, v in pairs)
    return f"extraDeviceInformation [{body}]"


def _get_psso_status(ctx: Ctx) -> int:
    sso = _sso(ctx)
    if sso.get("psso_timeouts"):
        ctx.lock()
        ctx.state["sso"]["psso_timeouts"] = int(ctx.state["sso"]["psso_timeouts"]) - 1
        ctx.save()
        out("Warning:Timedout")
        return 0
    user = _session_user(ctx)
    out(str(_psso_status(ctx, user)))
    shape = sso.get("psso_status_shape") or "unquoted"
    if shape == "status-only":
        return 0
    pairs = [("isSSOExtensionInFullMode", "Yes" if sso.get("full_mode") else "No")]
    reg = _registration(ctx, user) if user else None
    if reg:
        pairs += [
            ("primary_registration_metadata_upn", reg["upn"]),
            ("primary_registration_metadata_cloud_host", M.CLOUD_HOST),
            ("primary_registration_metadata_device_id", reg["device_id"]),
            ("primary_registration_metadata_tenant_id", M.TENANT_ID),
            ("primary_registration_metadata_certificate_thumbprint", reg["thumbprint"]),
        ]
    out(_dictionary(pairs, shape))
    return 0


def _edit_prefs(ctx: Ctx, user: dict, change) -> None:
    import plistlib

    mac = f"{user['home']}/{JAMFAAD_PREFS}"
    path = C.host_path(ctx.root, C.resolve_mac(ctx.root, mac, follow_last=False))
    if os.path.islink(path):
        return
    data = {}
    if os.path.isfile(path):
        with open(path, "rb") as f:
            data = plistlib.load(f)
    new = change(dict(data))
    if new != data and os.path.isdir(os.path.dirname(path)):
        C.write_atomic(path, plistlib.dumps(new, sort_keys=True), 0o644)


def _clean(ctx: Ctx, user: dict) -> None:
    found = _login_keychain(ctx, user)
    if found:
        path, kc = found
        keep = [i for i in kc.get("items", []) if not (i.get("class") == "genp" and i.get("svce") == JAMFAAD_SERVICE)]
        if len(keep) != len(kc.get("items", [])):
            kc["items"] = keep
            C.save_keychain(path, kc)

    def forget(p):
        p.pop("have_an_Azure_id", None)
        p.pop("last_aad_token_timestamp", None)
        return p

    _edit_prefs(ctx, user, forget)
    (ctx.state.get("sso") or {}).get("aad", {}).pop(user["name"], None)


def _gather(ctx: Ctx, user: dict) -> int:
    reg = _registration(ctx, user)
    if reg is None:
        out(f"Microsoft Entra ID not acquired for macOS user {user['name']}: this Mac is not registered with Microsoft Entra ID.")
        return 1
    now = int(time.time())

    def acquired(p):
        p.update(have_an_Azure_id=True, last_aad_token_timestamp=now)
        return p

    _edit_prefs(ctx, user, acquired)
    found = _login_keychain(ctx, user)
    if found and not any(i.get("class") == "genp" and i.get("svce") == JAMFAAD_SERVICE for i in found[1].get("items", [])):
        from cleanup.lab.simmac.builder import _genp

        found[1]["items"] = [_genp(JAMFAAD_SERVICE, "aad-token", acct=reg["upn"]), *found[1].get("items", [])]
        C.save_keychain(*found)
    ctx.state.setdefault("sso", {}).setdefault("aad", {})[user["name"]] = {"device_id": reg["device_id"], "at": now}
    out(f"Microsoft Entra ID acquired for macOS user {user['name']}")
    return 0


def _register(ctx: Ctx, user: dict) -> int:
    from cleanup.lab.simmac import tenant_link

    st = ctx.state
    tenant = st.get("tenant")
    if tenant:
        if user["name"] != st.get("console_user"):
            raise Fail(1, f"Jamf Conditional Access: {user['name']} is not at the console: the registration cannot start.")
        tenant_link.on_policy(ctx, {"event": tenant["registration_events"][0]})
    else:
        import hashlib
        import uuid

        from cleanup.lab.simmac.builder import UPN_DOMAIN, _ms_login_items

        n = len(st.get("registrations", []))
        did = str(uuid.UUID(hex=hashlib.sha256(f"register:{st['serial']}:{user['name']}:{n}".encode()).hexdigest()[:32], version=4))
        found = _login_keychain(ctx, user)
        if found is None:
            raise Fail(1, f"Jamf Conditional Access: {user['name']} has no login keychain.")
        items, prefs = _ms_login_items(user["name"], did, False)
        found[1]["items"] = items + found[1].get("items", [])
        found[1].setdefault("identity_preferences", {}).update(prefs)
        C.save_keychain(*found)
        st.setdefault("registrations", []).append({"user": user["name"], "deviceId": did, "user_upn": f"{user['name']}@{UPN_DOMAIN}"})
    out(f"Jamf Conditional Access: registerWithIntune started for {user['name']}.")
    return 0


def t_jamf_ca(ctx: Ctx, argv: list[str]):
    version = _sso(ctx).get("jamf_ca_version") or M.LEGACY_CA_VERSION
    psso_verb = M.version_tuple(version) >= M.GET_PSSO_SINCE
    use = "Usage: Jamf Conditional Access [-verbose] clean | gatherAADInfo [-disable-cache-read] | "
    use += "getPSSOStatus | registerWithIntune | version" if psso_verb else "registerWithIntune | version"
    args = [a for a in argv if a not in ("-verbose", "-disable-cache-read")]
    if len(args) != 1:
        usage(use)
    verb = args[0]
    if verb == "version":
        out(f"version={version}")
        return 0
    if verb == "getPSSOStatus" and psso_verb:
        return _get_psso_status(ctx)
    if verb not in ("clean", "gatherAADInfo", "registerWithIntune"):
        usage(use)
    me = ctx.me
    ctx.lock()
    # every call of a verb that changes something, refused ones included: tests check who ran what (never root)
    ctx.state.setdefault("jamf_ca_calls", []).append({"verb": verb, "user": me["name"], "uid": me["uid"]})
    ctx.save()
    if me["uid"] == 0:
        raise Fail(1, "Jamf Conditional Access must be run as the logged-in user, not as root.")
    if me["name"] not in (ctx.state.get("logged_in") or []):
        raise Fail(1, "The login keychain is locked: the user is not logged in.")
    if verb == "clean":
        _clean(ctx, me)
        ctx.save()
        out("Jamf Conditional Access: cleaned the AAD token from the keychain and preferences.")
        return 0
    rc = _gather(ctx, me) if verb == "gatherAADInfo" else _register(ctx, me)
    ctx.state["policies_run"].append({"jamfaad": verb, "user": me["name"]})
    ctx.save()
    return rc


# --------------------------------------------------------------------------- profiles list | show


def _profiles(ctx: Ctx) -> list[dict]:
    st = ctx.state
    mdm = st.get("mdm") or {}
    found = [{**MDM_PROFILE, "removable": mdm.get("removable", True)}] if mdm.get("enrolled") else []
    return found + M.installed_profiles(st)


def t_profiles(ctx: Ctx, argv: list[str]):
    listing = argv in (["list"], ["-C"], ["list", "-type", "configuration"])
    showing = argv in (["show", "-type", "configuration"], ["-C", "-v"])
    if not (listing or showing):
        from cleanup.lab.simmac.tool_mdm import t_profiles as enrollment_profiles

        return enrollment_profiles(ctx, argv)
    profiles = _profiles(ctx) if ctx.is_root else []
    for n, p in enumerate(profiles, 1):
        at = f"_computerlevel[{n}]"
        if listing:
            out(f"{at} attribute: profileIdentifier: {p['identifier']}")
            continue
        for key, value in (
            ("name", p["name"]),
            ("configurationDescription", ""),
            ("installationDate", "2025-06-08 16:05:30 +0000"),
            ("organization", p["organization"]),
            ("profileIdentifier", p["identifier"]),
            ("profileUUID", p["uuid"]),
            ("profileType", "Configuration"),
            ("removalDisallowed", "FALSE" if p.get("removable") else "TRUE"),
            ("version", "1"),
            ("containsComputerItems", "TRUE"),
        ):
            out(f"{at} attribute: {key}: {value}")
        out(f"{at} payload count = {len(p['payloads'])}")
        for i, pl in enumerate(p["payloads"], 1):
            for key in ("name", "description", "type", "organization", "identifier", "uuid"):
                value = pl.get(key, p["organization"] if key == "organization" else "")
                out(f"{at} \tpayload[{i}] {key}\t= {value}")
    out(f"There are {len(profiles)} configuration profiles installed" if profiles else "There are no configuration profiles installed")
    return 0
