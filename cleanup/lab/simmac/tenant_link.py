"""The simulated Mac's side of the lab's link to the emulated tenant.

When a simulated Mac is linked (``link``), re-enrolling it creates a new Jamf Pro record in the emulator, and
the registration policy registers the console user as the tenant's model does (``on_policy``): a new Entra device
(and, legacy only, an Intune record) there plus a new Workplace Join certificate in the user's login keychain, as the
real Company Portal registration would; a Platform SSO Repair registers the Mac's new deviceId (``register_psso``).
Only the lab's fake tools call this; the product never does.
"""

from __future__ import annotations

import json

from cleanup.lab.simmac import common as C

REGISTRATION_EVENTS = ("intune-registration",)


def link(root: str, url: str, ca_pem: str, events=REGISTRATION_EVENTS) -> None:
    state = C.load_state(root)
    state["tenant"] = {"url": url.rstrip("/"), "ca_pem": str(ca_pem), "registration_events": list(events)}
    C.save_state(root, state)


# ssl, urllib and uuid are imported where the tenant is contacted: most fake calls never do, and both would make every
# fake tool process ~10 MB larger (fakeserver forks it for each call)


def _post(tenant: dict, path: str, body: dict) -> dict:
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=tenant["ca_pem"])
    req = urllib.request.Request(tenant["url"] + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def _get(tenant: dict, path: str) -> dict:
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=tenant["ca_pem"])
    with urllib.request.urlopen(tenant["url"] + path, context=ctx, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def apply_mdm_commands(ctx) -> None:
    """Jamf Pro's Remove MDM Profile command for this Mac removes even a non-removable (ADE) profile, as the
    real Mac does at its next MDM check-in; the lab checks for it whenever the MDM state is read."""
    st = ctx.state
    tenant = st.get("tenant")
    if not tenant or not st["mdm"].get("enrolled"):
        return
    done = set(st.setdefault("mdm_commands_done", []))
    for cmd in _get(tenant, "/_lab/state").get("mdm_commands", []):
        if cmd.get("serial") == st["serial"] and cmd.get("command") == "REMOVE_MDM_PROFILE" and cmd["commandUuid"] not in done:
            st["mdm"]["enrolled"] = False
            st["mdm"]["user_approved"] = False
            st["mdm_commands_done"].append(cmd["commandUuid"])
            ctx.save()
            return


def on_enroll(ctx) -> None:
    """The Mac enrolled again: Jamf Pro gets a fresh inventory record."""
    st = ctx.state
    tenant = st.get("tenant")
    if tenant:
        import uuid

        st["udid"] = str(uuid.uuid4()).upper()
        _post(tenant, "/_lab/jamf/enroll", {"serial": st["serial"], "name": st["computer_name"], "udid": st["udid"]})


def _tenant_model(tenant: dict) -> str | None:
    import urllib.error

    try:
        return _get(tenant, "/_lab/model").get("model")
    except (urllib.error.HTTPError, ValueError):
        return None  # an emulator without registration models: legacy


def on_policy(ctx, entry: dict) -> None:
    """The registration policy ran for the console user, as the tenant's model registers a Mac: legacy (Entra device,
    Intune record and Workplace Join items on the Mac) or Device Compliance (Company Portal's Workplace Join: the
    Entra device and the Workplace Join items, no Intune record). On a Mac where Platform SSO is registered for that
    user, the policy adds no Workplace Join items and no device: the Platform SSO registration is the Mac's."""
    st = ctx.state
    tenant = st.get("tenant")
    if not tenant or entry.get("event") not in tenant.get("registration_events", ()):
        return
    user = st.get("console_user")
    home = ctx.home_of(user) if user else None
    if not home:
        return  # nobody at the console: the registration cannot start
    from cleanup.lab.simmac import sso_model
    from cleanup.lab.simmac.builder import UPN_DOMAIN, _ms_login_items

    psso = sso_model.psso_active(st)
    if psso and psso.get("device_id") and user in (psso.get("users") or {}):
        st.setdefault("registrations", []).append({"user": user, "model": "platform-sso", "deviceId": psso["device_id"], "via": "policy"})
        return
    upn = f"{user}@{UPN_DOMAIN}"
    body = {"serial": st["serial"], "name": st["computer_name"], "user_upn": upn}
    if _tenant_model(tenant) == "platform-sso":
        body["model"] = "device-compliance"  # a Mac without Platform SSO registers through Company Portal's Workplace Join
    answer = _post(tenant, "/_lab/register", body)
    items, prefs = _ms_login_items(user, answer["deviceId"], False)
    for it in items:
        it["lab_origin"] = "registration"  # lab-only marker so before/after views can tell new from kept
    path = ctx.host(f"{home}/Library/Keychains/login.keychain-db")
    kc = C.load_keychain(path)
    kc["items"] = items + kc.get("items", [])
    kc.setdefault("identity_preferences", {}).update(prefs)
    C.save_keychain(path, kc)
    st.setdefault("registrations", []).append({"user": user, **answer})


def register_psso(ctx, user: str, device_id: str) -> dict | None:
    """A Platform SSO registration of ``user`` (its new ``device_id``) in the linked tenant: an AzureAd device and
    Jamf's device-compliance information. None when the Mac is not linked."""
    st = ctx.state
    tenant = st.get("tenant")
    if not tenant:
        return None
    from cleanup.lab.simmac.builder import UPN_DOMAIN

    body = {"serial": st["serial"], "name": st["computer_name"], "user_upn": f"{user}@{UPN_DOMAIN}", "model": "platform-sso", "device_id": device_id}
    return _post(tenant, "/_lab/register", body)
