"""The situations the repair ladder is tested in (`cleanup repair`, docs/repair.md), made on a simulated Mac as a
real Mac can be in them: a user who never finished the registration, Device Compliance's values gone from the jamf
plist, a Platform SSO user whose registration needs them again; and readers of the ladder's file."""

from __future__ import annotations

import json
import plistlib
import time
from pathlib import Path

from cleanup.lab.tenant import directory
from cleanup.lab.tenant.inventory import local_user
from tests.support.diagnose import fresh_token, set_jamfaad
from tests.support.lab import keychain, lab_state, set_lab_state
from tests.support.simmac import login_kc

#: what a registration puts in the login keychain (the lab's _ms_login_items): gone when the user never registered
REGISTRATION_NAMES = (
    "workplacejoin",
    "Microsoft Workplace Join Key",
    "Microsoft Session Transport Key",
    "com.jamf.management.jamfAAD",
    "enterpriseregistration.windows.net",
    "device.login.microsoftonline.com",
    "DeviceLogin.microsoft.com",
)


def _registration_item(item: dict) -> bool:
    if item.get("class") == "cert" and (item.get("issuer_cn") or "").upper() == "MS-ORGANIZATION-ACCESS":
        return True
    text = " ".join(str(item.get(k) or "") for k in ("labl", "svce", "acct", "srvr"))
    return any(name.casefold() in text.casefold() for name in REGISTRATION_NAMES)


def never_registered(mac: Path, user: str = "alice") -> None:
    """The user never finished the registration: Company Portal is there, but no Workplace Join certificate, keys or
    passwords in their login keychain, and jamfAAD has no Entra ID for them."""
    path = mac / login_kc(user).lstrip("/")
    kc = keychain(mac, login_kc(user))
    kc["items"] = [i for i in kc["items"] if not _registration_item(i)]
    kc["identity_preferences"] = {}
    path.write_text(json.dumps(kc))
    set_jamfaad(mac, user, have_an_Azure_id=False)
    state = lab_state(mac)
    (state.get("sso") or {}).get("aad", {}).pop(user, None)
    set_lab_state(mac, sso=state.get("sso"))


def unregistered_in_the_tenant(lab) -> None:
    """The tenant side of a Device Compliance Mac whose user never finished the registration (on an "empty" lab): Jamf
    Pro enrolled it (its user reports no Entra registration) and calls it applicable with no device yet (UNKNOWN),
    Entra has nothing of it; the Device Compliance partner is enabled, the legacy one absent."""
    t, upn = lab.tenant, lab.identity.user_upn
    user = upn.split("@")[0]
    now = time.time()
    t.set_registration_model("device-compliance")
    with t.lock:
        users = [local_user(user, full_name=user.title(), user_guid="5E0D4A1C-7B2F-4C3D-9E8A-1F2B3C4D5E6F")]
        record = t.add_jamf_computer(
            lab.serial, lab.identity.name, username=user, email=upn, groups=["1", "2"], local_users=users, last_contact=now - 600, report_date=now - 900
        )
        t.set_compliance(record.id, [], state="UNKNOWN")
        directory.seed_device_compliance(t.directory)


def registration_reaches_no_tenant(mac: Path) -> None:
    """The Mac's registrations never reach the emulated tenant (its link is cut): Company Portal registers the user on
    the Mac, and Entra never hears of it."""
    set_lab_state(mac, tenant=None)


def device_compliance_values_lost(mac: Path) -> None:
    """com.jamfsoftware.jamf.plist lost Device Compliance's values (a stale or damaged plist `jamf manage` rewrites)."""
    path = mac / "Library/Preferences/com.jamfsoftware.jamf.plist"
    prefs = plistlib.loads(path.read_bytes())
    prefs["microsoftCAEnabled"] = False
    prefs.pop("microsoftCANativeClientAppId", None)
    path.write_bytes(plistlib.dumps(prefs))


def psso_user_needs_registration(mac: Path, user: str = "alice") -> None:
    """Platform SSO asks the user to register again (their Secure Enclave keys were reset, say): the device registration
    stands, the user's state is POUserStateNeedsRegistration (2). jamfAAD's token is fresh: nothing else is wrong."""
    state = lab_state(mac)
    state["sso"]["psso"]["users"][user]["state"] = "POUserStateNeedsRegistration (2)"
    set_lab_state(mac, sso=state["sso"])
    fresh_token(mac, user)


def ladder_file(state_dir: Path, serial: str) -> Path:
    return state_dir / "repairs" / f"{serial}.json"


def ladder(state_dir: Path, serial: str) -> dict:
    return json.loads(ladder_file(state_dir, serial).read_text())


def rungs_tried(state_dir: Path, serial: str) -> list[tuple[str, str]]:
    """(rung, status) of each attempt of the Mac's ladder, in order."""
    return [(a["rung"], a["status"]) for a in ladder(state_dir, serial)["attempts"]]


def run_ids(state_dir: Path) -> list[str]:
    runs = state_dir / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
