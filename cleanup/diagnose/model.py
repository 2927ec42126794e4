"""What a diagnosis reports: one :class:`Check` per row of the article's troubleshooting table that can be
checked, and the rows themselves (symptom, likely cause, the article's remedy, the playbook that fixes it)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from cleanup.clients.records import parse_time  # noqa: F401 - the checks' time parser, re-exported

OK, PROBLEM, UNKNOWN = "ok", "problem", "unknown"
STATUSES = (OK, PROBLEM, UNKNOWN)


@dataclass
class Check:
    id: str
    symptom: str
    status: str  # ok | problem | unknown
    finding: str  # one line: what was found, or why the check could not run
    evidence: dict = field(default_factory=dict)  # ids, timestamps, values
    likely_cause: str | None = None  # set for problems ("Cause 5", ...)
    remedy: str | None = None  # the article's remedy, one line
    playbook: str | None = None  # "cause6" | "duplicates" | None
    source: str = "cloud"  # cloud | device | device+cloud

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

    def ok(self, finding: str, **evidence) -> Check:
        return Check(self.id, self.symptom, OK, finding, evidence, source=self.source)

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
        )

    def unknown(self, why: str, **evidence) -> Check:
        return Check(self.id, self.symptom, UNKNOWN, why, evidence, source=self.source)


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
)
CAUSE_2 = Row(
    "connector-app",
    "Devices fail to register: the Jamf Native macOS Connector",
    "cloud",
    "Cause 2",
    "Add the Jamf Native macOS Connector again: set up the Intune integration in Jamf Pro and consent as a Global Administrator.",
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


def age_text(seconds: float) -> str:
    if seconds < 0:
        return "in the future"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} minutes ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} hours ago"
    return f"{seconds / 86400:.1f} days ago"


def iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
