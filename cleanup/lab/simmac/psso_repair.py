"""The user's Platform SSO Repair on a simulated Mac (System Settings > Users & Groups > Network Account Server > Repair).

``repair(root, user)`` gives the Mac a new Platform SSO registration for ``user``: a new deviceId
(``sso_model.psso_device_id(serial, n)``, n counting the repairs), a new device signing certificate naming it, the
user's User Configuration, and on a Mac linked to an emulated tenant the registration there (``/_lab/register`` with
model ``platform-sso`` and that deviceId). Every Platform SSO registration creates a new Entra deviceId (integration
reference, section 1). The other users' Platform SSO user registrations end with the old device registration.
"""

from __future__ import annotations

from pathlib import Path

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac import sso_model as M
from cleanup.lab.simmac import tenant_link
from cleanup.lab.simmac.fakes import Ctx


def repair(root: Path | str, user: str) -> dict:
    """Repair as ``user``; returns ``{"user", "device_id", "tenant"}`` (the tenant's answer, None when not linked).
    ValueError when the Mac has no Platform SSO, the profile is not installed, or the user cannot do it."""
    ctx = Ctx("psso-repair", str(Path(root).resolve()))
    if not (Path(ctx.root) / C.STATE_REL).is_file():
        raise ValueError(f"{root} is not a simulated Mac (no {C.STATE_REL})")
    ctx.lock()
    try:
        return _repair(ctx, str(root), user)
    finally:
        ctx.unlock()


def _repair(ctx: Ctx, root: str, user: str) -> dict:
    st = ctx.state
    psso = (st.get("sso") or {}).get("psso")
    if not psso:
        raise ValueError(f"the simulated Mac in {root} has no Platform SSO (scenario platform-sso)")
    if M.psso_active(st) is None:
        raise ValueError("no Extensible SSO profile is installed (the MDM installs it): enroll the Mac in Jamf Pro again first")
    if ctx.user_named(user) is None:
        raise ValueError(f"the simulated Mac in {root} has no user {user!r}")
    if user not in (st.get("logged_in") or []):
        raise ValueError(f"{user} is not logged in: the Repair is done in the user's session (`cleanup lab mac login {root} {user}`)")
    n = int(psso.get("repairs", 0)) + 1
    did = M.psso_device_id(st["serial"], n)
    psso.update(
        repairs=n,
        device_id=did,
        device_config=M.device_config(st["serial"], did),
        users={user: M.user_config(user, f"{user}@{M.TENANT_DOMAIN}")},
    )
    answer = tenant_link.register_psso(ctx, user, did)
    st.setdefault("registrations", []).append({"user": user, "model": "platform-sso", "deviceId": did, "via": "repair", "tenant": answer})
    ctx.save()
    return {"user": user, "device_id": did, "tenant": answer}
