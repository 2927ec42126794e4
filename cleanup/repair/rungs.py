"""The ladder of a repair, lightest first: each rung a playbook, with the diagnosis findings it fixes and the
registration models it applies to (docs/repair.md).

A finding is a diagnosis check with status ``problem``; a :class:`Fix` names one by its check and likely cause. The
findings the diagnosis marks for a playbook (``cause6``, ``duplicates``) go to the full reset; so does every finding a
lighter rung fixes, since the reset re-enrolls and registers the Mac anew. What no rung fixes (the tenant's set-up:
permissions, licences, the partner connection, smart groups) is reported with the article's remedy, never reset.
"""

from __future__ import annotations

from dataclasses import dataclass

from cleanup.diagnose import model as M
from cleanup.diagnose.model import Check

UNKNOWN = "unknown"
DAY_HOURS = 24
ANY = (M.LEGACY, M.DEVICE_COMPLIANCE, M.PLATFORM_SSO, UNKNOWN)
NEW_MODELS = (M.DEVICE_COMPLIANCE, M.PLATFORM_SSO)
#: likely causes the checks name for a user who holds no registration (diagnose/device.py, diagnose/sso.py)
NOT_REGISTERED = "not registered with Entra"
NOT_REGISTERED_YET = "not registered with Entra (after a reset, until step 13)"
NOT_ENROLLED = "not enrolled in Jamf Pro"
SETTINGS_GONE = "not enrolled in Jamf Pro, or its settings are gone"
COMPLIANCE_NOT_SENT = "Jamf's compliance has not reached Entra (compliant in Jamf, non-compliant in Entra)"


@dataclass(frozen=True)
class Mac:
    """What the choice of a rung depends on besides the findings: the registration model, the console user."""

    model: str
    console: str | None = None  # the user at the console (None: nobody)


def affected(check: Check) -> set[str] | None:
    """The users a per-user finding concerns (jamfAAD's: no Azure id, or a token older than 24 hours); None: not told."""
    users = check.evidence.get("users") if check.id == M.JAMFAAD.id else None
    if not isinstance(users, list):
        return None
    found = {u.get("user") for u in users if isinstance(u, dict) and (u.get("have_an_Azure_id") is False or (u.get("hours_since_token") or 0) > DAY_HOURS)}
    return {u for u in found if isinstance(u, str)} or None


@dataclass(frozen=True)
class Fix:
    """A finding a rung fixes: a problem of check ``check`` whose likely cause is one of ``causes`` (None: any
    cause), on a Mac of one of ``models``. ``console``: only when the finding concerns the console user (what runs
    in a user's session cannot help a user who is not logged in: they sign in, the article's remedy)."""

    check: str
    causes: tuple[str | None, ...] | None = None
    models: tuple[str, ...] = ANY
    console: bool = False

    def matches(self, check: Check, mac: Mac) -> bool:
        if check.id != self.check or not (self.causes is None or check.likely_cause in self.causes) or mac.model not in self.models:
            return False
        who = affected(check) if self.console else None
        return who is None or mac.console in who


@dataclass(frozen=True)
class Rung:
    name: str
    playbook: str
    does: str  # what it does, one line
    models: tuple[str, ...]
    fixes: tuple[Fix, ...]
    #: checks that must not be problems after the rung either (a registration the cloud does not know is no fix)
    confirms: tuple[str, ...] = ()
    #: the diagnosis' playbook marks whose findings it fixes
    playbooks: tuple[str, ...] = ()
    #: fixes every finding a lighter rung fixes as well
    fixes_lighter: bool = False
    #: needs the cloud (Jamf Pro and Graph): not with --only device or without a configuration
    cloud_only: bool = False
    #: asks before it starts (the full reset): the operator's yes, or --yes
    asks: bool = False

    def applies(self, mac: Mac) -> bool:
        return mac.model in self.models


REGISTER = Rung(
    "register",
    "repair-register",
    "the registration again as the console user: gatherAADInfo, after registerWithIntune on a Device Compliance Mac whose user holds none",
    ANY,
    (
        Fix(M.JAMFAAD.id, (M.JAMFAAD.cause, NOT_REGISTERED), console=True),
        Fix(M.JAMF_ENTRA_STATE.id, (M.JAMF_ENTRA_STATE.cause,)),
        Fix(M.WORKPLACE_JOIN.id, (NOT_REGISTERED_YET,), (M.DEVICE_COMPLIANCE,)),
        Fix(M.PSSO_STATUS.id, (NOT_REGISTERED,), (M.DEVICE_COMPLIANCE,)),
    ),
    confirms=(M.REGISTRATION_MATCH.id,),
)
JAMF_MANAGE = Rung(
    "jamf-manage",
    "repair-jamf-manage",
    "`jamf manage` and `jamf recon` as root: Jamf Pro's settings written again, the inventory submitted",
    ANY,
    (
        Fix(M.MICROSOFT_CA.id, (M.MICROSOFT_CA.cause, SETTINGS_GONE), NEW_MODELS),
        Fix(M.CHECK_IN.id, (M.CHECK_IN.cause,)),
        Fix(M.JAMF_ENTRA_STATE.id, (M.JAMF_ENTRA_STATE.cause,)),
        Fix(M.JAMF_COMPLIANCE.id, (COMPLIANCE_NOT_SENT,), NEW_MODELS),
    ),
)
PSSO_REPAIR = Rung(
    "psso-repair",
    "repair-psso-repair",
    "the user's Platform SSO Repair (System Settings, or Company Portal on macOS 13), checked with app-sso",
    (M.PLATFORM_SSO,),
    (Fix(M.APP_SSO.id, None, (M.PLATFORM_SSO,)), Fix(M.PSSO_STATUS.id, (M.PSSO_STATUS.cause,), (M.PLATFORM_SSO,))),
    confirms=(M.REGISTRATION_MATCH.id,),
)
CAUSE6 = Rung(
    "cause6",
    "cause6",
    "the full Cause 6 reset: the 13 steps (the Mac's records deleted, re-enrolled, registered anew)",
    ANY,
    (
        Fix(M.CHECK_IN.id, (NOT_ENROLLED,)),
        Fix(M.WORKPLACE_JOIN.id, (NOT_REGISTERED_YET,)),
        Fix(M.PSSO_STATUS.id, (NOT_REGISTERED,)),
        Fix(M.JAMFAAD.id, (M.JAMFAAD.cause, NOT_REGISTERED), console=True),
    ),
    playbooks=("cause6", "duplicates"),
    fixes_lighter=True,
    asks=True,
)
#: the ladder, lightest first
LADDER = (REGISTER, JAMF_MANAGE, PSSO_REPAIR, CAUSE6)
BY_NAME = {r.name: r for r in LADDER}


def fixes(rung: Rung, check: Check, mac: Mac) -> bool:
    """Whether ``rung`` fixes the finding ``check`` on ``mac``."""
    if check.status != M.PROBLEM:
        return False
    if check.playbook and check.playbook in rung.playbooks:
        return True
    if any(f.matches(check, mac) for f in rung.fixes):
        return True
    lighter = LADDER[: LADDER.index(rung)]
    return rung.fixes_lighter and any(any(f.matches(check, mac) for f in r.fixes) for r in lighter)


def fixers(check: Check, mac: Mac) -> list[Rung]:
    """The rungs that fix ``check`` on ``mac``, lightest first."""
    return [r for r in LADDER if r.applies(mac) and fixes(r, check, mac)]


def index(name: str) -> int:
    return LADDER.index(BY_NAME[name])
