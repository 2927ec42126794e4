"""What a diagnosis reports: one :class:`Check` per row of the article's troubleshooting table that can be
checked, and the rows themselves (symptom, likely cause, the article's remedy, the playbook that fixes it)."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field

from cleanup.clients.records import parse_time  # noqa: F401 - the checks' time parser, re-exported

OK, PROBLEM, UNKNOWN, NOT_APPLICABLE = "ok", "problem", "unknown", "n/a"
STATUSES = (OK, PROBLEM, UNKNOWN, NOT_APPLICABLE)

#: the registration models (docs/registration-models.md); a row applies to some of them
LEGACY, DEVICE_COMPLIANCE, PLATFORM_SSO = "legacy", "device-compliance", "platform-sso"
ALL_MODELS = (LEGACY, DEVICE_COMPLIANCE, PLATFORM_SSO)
MODEL_NAMES = {
    LEGACY: "the legacy Conditional Access integration",
    DEVICE_COMPLIANCE: "Jamf Device Compliance",
    PLATFORM_SSO: "Platform SSO",
    "unknown": "an unknown model",
}


@dataclass
class Check:
    id: str
    symptom: str
    status: str  # ok | problem | unknown | n/a (the row does not apply to the Mac's registration model)
    finding: str  # one line: what was found, or why the check could not run
    evidence: dict = field(default_factory=dict)  # ids, timestamps, values
    likely_cause: str | None = None  # set for problems ("Cause 5", ...)
    remedy: str | None = None  # the article's remedy, one line
    playbook: str | None = None  # "cause6" | "duplicates" | None
    source: str = "cloud"  # cloud | device | device+cloud
    models: tuple[str, ...] = ALL_MODELS  # the registration models this check applies to

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "symptom": self.symptom,
            "status": self.status,
            "finding": self.finding,
            "evidence": self.evidence,
            "likely_cause": self.likely_cause,
            "remedy": self.remedy,
            "playbook": self.playbook,
            "source": self.source,
            "models": list(self.models),
        }


@dataclass(frozen=True)
class Row:
    """A row of the troubleshooting table as one check: what a problem there means and how to fix it."""

    id: str
    symptom: str
    source: str
    cause: str
    remedy: str
    playbook: str | None = None
    models: tuple[str, ...] = ALL_MODELS

    def applies(self, model: str) -> bool:
        """An unknown model runs every check: each says what it finds, none is skipped on a guess."""
        return model not in ALL_MODELS or model in self.models

    def ok(self, finding: str, **evidence) -> Check:
        return Check(self.id, self.symptom, OK, finding, evidence, source=self.source, models=self.models)

    def not_applicable(self, finding: str, **evidence) -> Check:
        return Check(self.id, self.symptom, NOT_APPLICABLE, finding, evidence, source=self.source, models=self.models)

    def problem(self, finding: str, evidence: dict | None = None, *, cause: str | None = None, remedy: str | None = None, playbook: str | None = "") -> Check:
        """A problem with this row's cause, remedy and playbook unless given (``playbook=None``: none)."""
        return Check(
            self.id,
            self.symptom,
            PROBLEM,
            finding,
            evidence or {},
            cause or self.cause,
            remedy or self.remedy,
            self.playbook if playbook == "" else playbook,
            self.source,
            self.models,
        )

    def unknown(self, why: str, **evidence) -> Check:
        return Check(self.id, self.symptom, UNKNOWN, why, evidence, source=self.source, models=self.models)


# -- the article's remedies, one line each -------------------------------------------------------------

RESET = "Run the article's 13-step reset for this Mac (Cause 6)."
REGISTER = "Open Jamf Self Service and start the registration policy (the article's step 13)."
SIGN_IN = "The registered user signs in on the Mac: Jamf Pro expects a check-in every 15 minutes, the Azure token renews every 12 hours."

CAUSE_1 = Row(
    "jamf-app-permissions",
    "Devices fail to register: the Jamf Pro app in Entra",
    "cloud",
    "Cause 1",
    "Give the Jamf Pro app in Entra exactly one API permission, Intune update_device_attributes, and grant admin consent.",
    models=(LEGACY,),
)
CAUSE_2 = Row(
    "connector-app",
    "Devices fail to register: the Jamf Native macOS Connector",
    "cloud",
    "Cause 2",
    "Add the Jamf Native macOS Connector again: set up the Intune integration in Jamf Pro and consent as a Global Administrator.",
    models=(LEGACY,),
)
CAUSE_3_TENANT = Row(
    "tenant-licences",
    'Devices fail to register: "Unable to connect to Microsoft Intune"',
    "cloud",
    "Cause 3",
    "Renew or extend the Intune subscription (and check the Jamf Pro licence).",
)
CAUSE_3_USER = Row(
    "user-licence",
    "Devices fail to register: the Mac user's Intune licence",
    "cloud",
    "Cause 3",
    "Assign the Mac's user a licence that includes Intune (e.g. Microsoft 365 E3, EMS, Intune Plan 1).",
)
CAUSE_4 = Row(
    "portal-log-cause4",
    "Devices fail to register: Company Portal opened by hand",
    "device",
    "Cause 4",
    "Remove the registration made outside Jamf (the 13-step reset), then open Company Portal only through Jamf Self Service.",
    "cause6",
)
CAUSE_5 = Row(
    "partner-connection",
    "Devices fail to register: the Intune integration is off",
    "cloud",
    "Cause 5",
    "Turn the Intune integration back on in Jamf Pro (Conditional Access / Device Compliance) and check the Jamf partner connector in Intune.",
    models=(LEGACY,),
)
CAUSE_5_LOG = Row("portal-log-cause5", 'Devices fail to register: "Registration-only command line flag (-r)"', "device", "Cause 5", CAUSE_5.remedy)
CHECK_IN = Row("jamf-check-in", 'Devices marked "Unresponsive" in Jamf Pro', "cloud", "no check-in with Jamf Pro for 24 hours", SIGN_IN)
JAMF_ENTRA_STATE = Row(
    "jamf-entra-state",
    "The Mac user's Entra registration as Jamf Pro reports it",
    "cloud",
    "the Azure token was not renewed for 24 hours (Unresponsive)",
    SIGN_IN,
)
JAMF_RECORDS = Row(
    "jamf-records",
    "Several Jamf Pro records for one Mac",
    "cloud",
    "Cause 6: enrolled before, or registered several times",
    RESET + " With several Jamf Pro records choose the one to delete (--jamf-record ID).",
    "cause6",
)
INTUNE_RECORDS = Row(
    "intune-records",
    "Duplicate entries in the Intune console",
    "cloud",
    "Cause 6: registered repeatedly after being removed",
    "Delete the stale Intune and Entra records, keeping the Mac's current registration.",
    "duplicates",
)
ENTRA_RECORDS = Row(
    "entra-records", "Several Entra devices for one Mac", "cloud", "Cause 6: registered several times without cleanup", INTUNE_RECORDS.remedy, "duplicates"
)
MISMATCH = Row(
    "compliance-mismatch",
    "Compliant in Intune, non-compliant in Entra (Azure)",
    "cloud",
    "Cause 6: not registered correctly, or registered several times without cleanup",
    RESET,
    "cause6",
    models=(LEGACY,),
)
POLICY_GROUPS = Row(
    "compliance-policy-groups",
    "Compliance policy fails to evaluate the device",
    "cloud",
    "policy assigned to device groups; Jamf's integration supports user groups only",
    "Assign the macOS compliance policy to user groups only.",
)
JAMFAAD = Row(
    "jamfaad-state", "jamfAAD state on the Mac (Azure id, last token)", "device", "the Azure token was not renewed for 24 hours (Unresponsive)", SIGN_IN
)
WORKPLACE_JOIN = Row("workplace-join", "Workplace Join items on the Mac", "device", "Cause 6: leftovers of an earlier registration", RESET, "cause6")
KEYCHAINS = Row(
    "login-keychains",
    "Login keychains readable",
    "device",
    "Cause 7: the login keychain is locked",
    'The user logs in and, when jamfAAD asks for the "Microsoft Workplace Join Key", enters the login keychain password and chooses Allow.',
)
REGISTRATION_MATCH = Row(
    "registration-match",
    "The Mac's registration matches Entra and Intune",
    "device+cloud",
    "Cause 6: the Mac holds a registration the cloud no longer knows",
    RESET,
    "cause6",
)

# -- the 2026 models (docs/registration-models.md) ------------------------------------------------------

PSSO_REPAIR = (
    "Repair the Platform SSO registration as the user: System Settings > Users & Groups > Network Account Server > Edit > Repair "
    "(macOS 14 and later), or Company Portal > Preferences > Deregister, then register again."
)
REGISTRATION_MODEL = Row(
    "registration-model",
    "Which registration model the Mac is in",
    "device+cloud",
    "the Mac and the cloud show no registration model",
    REGISTER,
)
COMPLIANCE_PARTNER = Row(
    "compliance-partner",
    "Devices fail to register: the Jamf Device Compliance partner in Intune",
    "cloud",
    "the Device Compliance connection is off or silent",
    "In Intune (Tenant administration > Connectors and tokens > Partner compliance management) the Jamf Device Compliance partner "
    "must be Active, with macOS assigned to user groups; in Jamf Pro check Settings > Global > Device Compliance.",
    models=(DEVICE_COMPLIANCE, PLATFORM_SSO),
)
JAMF_COMPLIANCE = Row(
    "jamf-device-compliance",
    "The Entra device's compliance as Jamf Pro reports it",
    "cloud",
    "Cause 6: Jamf Pro reports compliance for a registration Entra does not have",
    RESET,
    "cause6",
    models=(DEVICE_COMPLIANCE, PLATFORM_SSO),
)
MICROSOFT_CA = Row(
    "microsoft-ca-settings",
    "Device Compliance on the Mac (com.jamfsoftware.jamf.plist)",
    "device",
    "the Mac is not in Device Compliance's Applicable smart group, or its Jamf settings are stale",
    "Put the Mac in the Applicable smart group (Jamf Pro: Settings > Global > Device Compliance), then run `sudo jamf manage` on the Mac.",
    models=(DEVICE_COMPLIANCE, PLATFORM_SSO),
)
PSSO_STATUS = Row(
    "psso-status",
    "MSAL's view of the registration (Jamf Conditional Access getPSSOStatus)",
    "device",
    "Platform SSO is enabled but the user's registration is not complete",
    PSSO_REPAIR,
    models=(DEVICE_COMPLIANCE, PLATFORM_SSO),
)
APP_SSO = Row(
    "app-sso",
    "Platform SSO registration on the Mac (app-sso platform -s)",
    "device",
    "the Platform SSO registration is not complete",
    PSSO_REPAIR,
    models=(DEVICE_COMPLIANCE, PLATFORM_SSO),
)
#: Microsoft ended support for the legacy integration on this date (announced earlier for 2024-09-01; reference section 6)
LEGACY_END = "2025-01-31"


def age_text(seconds: float) -> str:
    if seconds < 0:
        return "in the future"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} minutes ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} hours ago"
    return f"{seconds / 86400:.1f} days ago"


def shown(value: object, limit: int = 80) -> str:
    """A value read from a Mac or a service, for a finding: one printable line of at most ``limit`` characters
    (JSON for what is not text; control characters escaped)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
