"""What a playbook may point the actions at: the article's scope, whatever the playbook says.

A playbook names paths, keychain texts, binaries and package ids as data; these checks keep that data inside
Microsoft's Cause 6 procedure (Microsoft, Intune, Company Portal, Entra registration, Jamf). Data that only
narrows what is touched (a ``protect`` rule) is not limited.
"""

from __future__ import annotations

from cleanup.actions.keychain_items import fold

#: a keychain text is in scope when it holds one of these (compared folded: case and white space)
KEYCHAIN_TERMS = (
    "microsoft",
    "intune",
    "company portal",
    "companyportal",
    "entra",
    "workplacejoin",
    "enterpriseregistration",
    "devicelogin",
    "microsoftonline",
    "ms-organization-access",
    "aad",
    "jamf",
)
MIN_TERM = 4  # a shorter text matches by accident ("e", "com")
JAMF_BINARIES = ("/usr/local/jamf/bin/jamf", "/usr/local/bin/jamf")
COMPANY_PORTAL_PROCESSES = ("Company Portal",)
COMPANY_PORTAL_PKG_PREFIX = "com.microsoft.CompanyPortal"


def keychain_text_problem(text: str) -> str | None:
    """Why a text a keychain rule or exact item matches on is outside the article's scope, or None."""
    folded = fold(text)
    if len(folded.strip()) < MIN_TERM:
        return f"{text!r} is too short to name a Microsoft or Jamf item (at least {MIN_TERM} characters)"
    if not any(term in folded for term in KEYCHAIN_TERMS):
        return f"{text!r} is outside the article's scope: a keychain text names Microsoft, Intune, Company Portal, Entra registration or Jamf"
    return None


def jamf_binary_problem(path: str) -> str | None:
    return None if path in JAMF_BINARIES else f"{path!r} is not the jamf binary ({' or '.join(JAMF_BINARIES)})"


def process_problem(name: str) -> str | None:
    return None if name in COMPANY_PORTAL_PROCESSES else f"{name!r} is not Company Portal's process"


def pkg_problem(pkg: str) -> str | None:
    if pkg == COMPANY_PORTAL_PKG_PREFIX or (pkg.startswith(COMPANY_PORTAL_PKG_PREFIX) and pkg[len(COMPANY_PORTAL_PKG_PREFIX) :].isalnum()):
        return None
    return f"{pkg!r} is not a Company Portal package id ({COMPANY_PORTAL_PKG_PREFIX}…)"
