"""``GET /api/v{1,3,4}/computers-inventory``: sections, RSQL filter, sort and paging over the Jamf records.

v1 and v3 name the last contact ``general.lastContactTime``; v4 (Jamf Pro 11.30) has ``general.lastContact`` and
``general.lastCheckIn`` instead, and refuses the old name in a sort or filter with 400 INVALID_FIELD (S34). Both
v4 fields carry the record's one last-contact time here: sources disagree on what separates them (S37) [I].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cleanup.lab.tenant import rsql
from cleanup.lab.tenant.records import JamfComputer, iso

# Jamf's section names and the JSON key each fills; the ones we model carry data, the rest come back empty.
SECTION_KEYS = {
    "GENERAL": "general",
    "DISK_ENCRYPTION": "diskEncryption",
    "PURCHASING": "purchasing",
    "APPLICATIONS": "applications",
    "STORAGE": "storage",
    "USER_AND_LOCATION": "userAndLocation",
    "CONFIGURATION_PROFILES": "configurationProfiles",
    "PRINTERS": "printers",
    "SERVICES": "services",
    "HARDWARE": "hardware",
    "LOCAL_USER_ACCOUNTS": "localUserAccounts",
    "CERTIFICATES": "certificates",
    "ATTACHMENTS": "attachments",
    "PLUGINS": "plugins",
    "PACKAGE_RECEIPTS": "packageReceipts",
    "FONTS": "fonts",
    "SECURITY": "security",
    "OPERATING_SYSTEM": "operatingSystem",
    "LICENSED_SOFTWARE": "licensedSoftware",
    "IBEACONS": "ibeacons",
    "SOFTWARE_UPDATES": "softwareUpdates",
    "EXTENSION_ATTRIBUTES": "extensionAttributes",
    "CONTENT_CACHING": "contentCaching",
    "GROUP_MEMBERSHIPS": "groupMemberships",
}
ALL_SECTIONS = frozenset(SECTION_KEYS)
_LIST_SECTIONS = {
    "applications",
    "configurationProfiles",
    "printers",
    "certificates",
    "attachments",
    "plugins",
    "fonts",
    "licensedSoftware",
    "ibeacons",
    "softwareUpdates",
    "extensionAttributes",
}

FIELDS = {
    "id": lambda c: c.id,
    "udid": lambda c: c.udid,
    "general.name": lambda c: c.name,
    "general.lastContactTime": lambda c: iso(c.last_contact, True),
    "general.reportDate": lambda c: iso(c.report_date, True),
    "general.managementId": lambda c: c.management_id,
    "general.remoteManagement.managed": lambda c: c.managed,
    "general.mdmCapable.capable": lambda c: c.mdm_capable,
    "general.userApprovedMdm": lambda c: c.user_approved_mdm,
    "general.enrolledViaAutomatedDeviceEnrollment": lambda c: c.ade,
    "general.platform": lambda c: "Mac",
    "hardware.serialNumber": lambda c: c.serial,
    "hardware.macAddress": lambda c: c.mac_address,
    "hardware.model": lambda c: c.model,
    "userAndLocation.username": lambda c: c.username,
    "userAndLocation.email": lambda c: c.email,
    "operatingSystem.version": lambda c: c.os_version,
}
#: the v4 field names (the v1 one is refused there)
V4_RENAMED = {"general.lastContactTime": ("general.lastContact", "general.lastCheckIn")}
FIELDS_V4 = {k: v for k, v in FIELDS.items() if k not in V4_RENAMED} | {
    "general.lastContact": lambda c: iso(c.last_contact, True),
    "general.lastCheckIn": lambda c: iso(c.last_contact, True),
}
MAX_PAGE_SIZE = 2000


def fields_of(api: int) -> dict:
    return FIELDS_V4 if api >= 4 else FIELDS


class QueryError(ValueError):
    def __init__(self, message: str, code: str = "INVALID_FIELD", field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass
class InventoryQuery:
    sections: frozenset
    page: int = 0
    page_size: int = 100
    sort: tuple = (("id", False),)  # (field, descending)
    filter: tuple | None = None
    api: int = 1  # the inventory API version asked: 1, 3 or 4

    @classmethod
    def from_request(cls, req, api: int = 1) -> InventoryQuery:
        fields = fields_of(api)
        sections = set()
        for value in req.args("section"):
            for name in value.split(","):
                name = name.strip().upper()
                if name not in SECTION_KEYS:
                    raise QueryError(f"Invalid section: {name}", "INVALID_FIELD", "section")
                sections.add(name)
        page = _int(req.arg("page", "0"), "page")
        size = _int(req.arg("page-size", "100"), "page-size")
        if page < 0:
            raise QueryError("page must be greater than or equal to 0", field="page")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise QueryError(f"page-size must be between 1 and {MAX_PAGE_SIZE}", field="page-size")
        sort = []
        for value in req.args("sort"):
            for part in value.split(","):
                name, _, direction = part.strip().partition(":")
                if api >= 4 and name in V4_RENAMED:
                    raise QueryError(f"Invalid field: {name}", "INVALID_FIELD", "sort")
                if name not in fields or direction.lower() not in ("", "asc", "desc"):
                    raise QueryError(f"Invalid sort criteria: {part}", "INVALID_SORT_CRITERIA", "sort")
                sort.append((name, direction.lower() == "desc"))
        node = None
        text = req.arg("filter")
        if text is not None:
            try:
                node = rsql.parse(text)
            except rsql.RsqlError as exc:
                raise QueryError(f"Invalid RSQL filter: {exc}", "INVALID_RSQL_FILTER", "filter") from None
            renamed = sorted(rsql.fields_of(node) & set(V4_RENAMED)) if api >= 4 else []
            if renamed:
                raise QueryError(f"Invalid field: {renamed[0]}", "INVALID_FIELD", "filter")
            unknown = sorted(rsql.fields_of(node) - set(fields))
            if unknown:
                raise QueryError(f"Invalid RSQL filter field: {unknown[0]}", "INVALID_RSQL_FILTER_FIELD", "filter")
        return cls(frozenset(sections or {"GENERAL"}), page, size, tuple(sort) or (("id", False),), node, api)


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise QueryError(f"{name} must be an integer", field=name) from None


def _sort_key(value):
    if isinstance(value, str) and value.isdigit():
        return (0, int(value), "")
    return (1, 0, str(value).lower())


def candidates(tenant, node) -> list[JamfComputer]:
    """Records (live and not-yet-forgotten deleted ones) that may match ``node``, via the serial index if it can."""
    ghosts = tenant.ghost_records("jamf")
    serials = rsql.exact_values(node, "hardware.serialNumber") if node else None
    if serials is not None:
        recs = [r for s in serials for r in tenant.jamf_by_serial(s)]
        return recs + [g for g in ghosts if g.serial.upper() in serials]
    ids = rsql.exact_values(node, "id") if node else None
    if ids is not None:
        return [tenant.jamf[i] for i in ids if i in tenant.jamf] + [g for g in ghosts if g.id in ids]
    return list(tenant.jamf.values()) + ghosts


def _getter(rec: JamfComputer, fields: dict) -> Callable[[str], object]:
    """The record's RSQL field values, by field name."""
    return lambda f: fields[f](rec)


def _sort_by(name: str, fields: dict) -> Callable[[JamfComputer], tuple]:
    return lambda r: _sort_key(fields[name](r))


def run_query(tenant, query: InventoryQuery) -> tuple[int, list[dict]]:
    fields = fields_of(query.api)
    recs = candidates(tenant, query.filter)
    if query.filter is not None:
        recs = [r for r in recs if rsql.evaluate(query.filter, _getter(r, fields))]
    for name, desc in reversed(query.sort):
        recs.sort(key=_sort_by(name, fields), reverse=desc)
    start = query.page * query.page_size
    page = recs[start : start + query.page_size]
    return len(recs), [api_view(render(tenant, r, query.sections), query.api) for r in page]


def local_user(
    username: str,
    *,
    full_name: str | None = None,
    user_guid: str | None = None,
    computer_aad_id: str | None = None,
    user_aad_id: str | None = None,
    aad_state: str = "UNKNOWN",
) -> dict:
    """One entry of a computer's LOCAL_USER_ACCOUNTS section, in the Jamf Pro API's shape."""
    return {
        "uid": "501",
        "userGuid": user_guid,
        "username": username,
        "fullName": full_name or username,
        "admin": True,
        "homeDirectory": f"/Users/{username}",
        "homeDirectorySize": None,
        "fileVault2Enabled": True,
        "userAccountType": "LOCAL",
        "passwordMinLength": None,
        "passwordMaxAge": None,
        "passwordMinComplexCharacters": None,
        "passwordHistoryDepth": None,
        "passwordRequireAlphanumeric": None,
        "computerAzureActiveDirectoryId": computer_aad_id,
        "userAzureActiveDirectoryId": user_aad_id,
        "azureActiveDirectoryId": aad_state,
    }


def _local_users(c: JamfComputer) -> list[dict]:
    if c.local_users is not None:
        return [dict(u) for u in c.local_users]
    return [local_user(c.username)] if c.username else []


def api_view(record: dict, api: int) -> dict:
    """A record rendered by :func:`render` (the v1 and v3 shape) as inventory API ``api`` sends it: v4 puts its two
    names where v1 has ``lastContactTime``."""
    general = record.get("general")
    if api < 4 or not isinstance(general, dict) or "lastContactTime" not in general:
        return record
    renamed = {n: v for k, v in general.items() for n in (("lastContact", "lastCheckIn") if k == "lastContactTime" else (k,))}
    return {**record, "general": renamed}


def render(tenant, c: JamfComputer, sections) -> dict:
    out: dict = {"id": c.id, "udid": c.udid}
    for section, key in SECTION_KEYS.items():
        if section not in sections:
            out[key] = None
        elif key == "general":
            out[key] = c.general()
        elif key == "hardware":
            out[key] = c.hardware()
        elif key == "userAndLocation":
            out[key] = c.user_and_location()
        elif key == "localUserAccounts":
            out[key] = _local_users(c)
        elif key == "groupMemberships":
            out[key] = [
                {"groupId": g, "groupName": tenant.groups[g]["name"], "smartGroup": tenant.groups[g]["smartGroup"]} for g in c.groups if g in tenant.groups
            ]
        elif key in ("diskEncryption", "security"):
            out[key] = _escrow_section(tenant, c, key)
        elif key == "operatingSystem":
            out[key] = {
                "name": "macOS",
                "version": c.os_version,
                "build": "23F79",
                "supplementalBuildVersion": None,
                "rapidSecurityResponse": None,
                "activeDirectoryStatus": "Not Bound",
                "fileVault2Status": "ALL_ENCRYPTED",
                "softwareUpdateDeviceId": None,
                "extensionAttributes": [],
            }
        else:
            out[key] = [] if key in _LIST_SECTIONS else {}
    return out


BOOT_PARTITION = {"partitionName": "Macintosh HD (Boot Partition)", "partitionFileVault2State": "ENCRYPTED", "partitionFileVault2Percent": 100}


def _escrow_section(tenant, c: JamfComputer, key: str) -> dict:
    """DISK_ENCRYPTION and SECURITY as Jamf Pro renders them: which secrets the record escrowed, never a value."""
    escrowed = tenant.escrow.of(c.id)
    if key == "diskEncryption":
        return {
            "bootPartitionEncryptionDetails": dict(BOOT_PARTITION),
            "individualRecoveryKeyValidityStatus": escrowed.filevault_status,
            "institutionalRecoveryKeyPresent": False,
            "diskEncryptionConfigurationName": "",
            "fileVault2EnabledUserNames": [c.username] if c.username else [],
            "fileVault2EligibilityMessage": "Eligible",
        }
    return {
        "sipStatus": "ENABLED",
        "gatekeeperStatus": "APP_STORE_AND_IDENTIFIED_DEVELOPERS",
        "xprotectVersion": "5272",
        "autoLoginDisabled": True,
        "remoteDesktopEnabled": False,
        "activationLockEnabled": False,
        "recoveryLockEnabled": escrowed.recovery_lock is not None,
        "firewallEnabled": True,
        "secureBootLevel": "FULL_SECURITY",
        "externalBootLevel": "ALLOW_BOOTING_FROM_EXTERNAL_MEDIA",
        "bootstrapTokenAllowed": True,
        "bootstrapTokenEscrowedStatus": "ESCROWED",
    }
