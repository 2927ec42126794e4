"""Names on the wire that the clients and the actions share: the API routes, the kinds of secrets Jamf Pro escrows,
and how an error body reads. Nothing here imports an HTTP stack, so the actions, the device side and every start of
the command line stay light; the clients (jamf.py, graph.py) import requests, msal and the rest only when used."""

from __future__ import annotations

import json

# -- Jamf Pro ------------------------------------------------------------------------------------------------
#: the server's version (docs/jamf-versions.md): the inventory routes below are chosen from it (cleanup.clients.jamf_version)
JAMF_PRO_VERSION = "/api/v1/jamf-pro-version"
INVENTORY = "/api/v1/computers-inventory"  # the oldest inventory routes: servers before 11.23, or of unknown version
INVENTORY_V3 = "/api/v3/computers-inventory"  # Jamf Pro 11.23.0 to 11.29
INVENTORY_V4 = "/api/v4/computers-inventory"  # Jamf Pro 11.30.0 and later
REMOVE_MDM = "/api/v1/computer-inventory/{id}/remove-mdm-profile"  # singular; v3 has none
REMOVE_MDM_V4 = INVENTORY_V4 + "/{id}/remove-mdm-profile"
COMPUTER_GROUPS = "/api/v1/computer-groups"
SMART_GROUP_MEMBERSHIP = "/api/v3/computer-groups/smart-group-membership/{id}"  # Jamf Pro 11.28.0 and later
CLASSIC_GROUP = "/JSSResource/computergroups/name/{name}"
CLASSIC_GROUP_ID = "/JSSResource/computergroups/id/{id}"
SECTIONS = ("GENERAL", "HARDWARE", "USER_AND_LOCATION", "GROUP_MEMBERSHIPS", "LOCAL_USER_ACCOUNTS")
# what Jamf Pro escrowed for a record: the inventory says which (never the values), these routes give the values
FILEVAULT = INVENTORY + "/{id}/filevault"
RECOVERY_LOCK = INVENTORY + "/{id}/view-recovery-lock-password"
LAPS_ACCOUNTS = "/api/v2/local-admin-password/{mid}/accounts"
LAPS_PASSWORD = "/api/v2/local-admin-password/{mid}/account/{user}/password"  # viewing it rotates it
ESCROW_SECTIONS = ("DISK_ENCRYPTION", "SECURITY")
ESCROW_KINDS = {"filevault": "FileVault personal recovery key", "laps": "LAPS password", "recovery-lock": "Recovery Lock password"}

# -- Microsoft Graph -----------------------------------------------------------------------------------------
API_VERSION = "v1.0"
DEVICES = "/devices"
MANAGED_DEVICES = "/deviceManagement/managedDevices"
#: soft-deleted Entra devices (a preview in 2026): Microsoft documents their list on beta only, so the whole
#: deleted-items part (list and restore) uses beta, named here once
DELETED_ITEMS_VERSION = "beta"
DELETED_DEVICES = "/directory/deletedItems/microsoft.graph.device"
DELETED_ITEM = "/directory/deletedItems/{id}"


def error_message(error: object) -> str:
    """The first line of a Graph error's ``message``. Intune often sends a whole JSON document as that string
    (``{"_version": 3, "Message": "An error has occurred - Operation ID ...", ...}``): its inner ``Message`` then."""
    text = str(error.get("message") or "").strip() if isinstance(error, dict) else ""
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        inner = doc.get("Message") or doc.get("message") if isinstance(doc, dict) else None
        if isinstance(inner, str) and inner.strip():
            text = inner.strip()
    lines = text.splitlines()
    return lines[0].strip() if lines else ""
