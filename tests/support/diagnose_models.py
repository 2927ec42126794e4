"""Helpers for the diagnose tests of the 2026 registration models: change a simulated Mac's Platform SSO state and
jamf plist, serve the tenant as an older Jamf Pro, run a diagnosis with the lab's cloud."""

from __future__ import annotations

import functools
import json
import plistlib
from collections.abc import Callable
from pathlib import Path

from cleanup.diagnose import run_diagnose
from cleanup.hosts import open_host
from cleanup.lab.simmac import common as C
from cleanup.lab.tenant import start_tenant
from cleanup.lab.tenant.clientfiles import lab_cloud_opener
from tests.support import cloudlab

JAMF_PLIST = "Library/Preferences/com.jamfsoftware.jamf.plist"
DC_ONLY = {"compliance-partner", "jamf-device-compliance", "microsoft-ca-settings", "psso-status", "app-sso"}
LEGACY_ONLY = {"compliance-mismatch", "partner-connection", "jamf-app-permissions", "connector-app"}


def diagnose(lab, *, mac: bool = True) -> dict:
    """Every check of a diagnosis of the lab's Mac (``mac=False``: the cloud only), by id."""
    with lab_cloud_opener(lab.client)() as cloud:
        checks = run_diagnose(lab.serial, open_host(f"sim:{lab.mac}") if mac else None, cloud)
    return {c.id: c for c in checks}


def statuses(checks: dict, status: str) -> set[str]:
    return {i for i, c in checks.items() if c.status == status}


def edit_state(mac: Path, change: Callable[[dict], None]) -> None:
    state = C.load_state(mac)
    change(state)
    C.save_state(mac, state)


def set_jamf_plist(mac: Path, **values) -> None:
    """Rewrite keys of the simulated Mac's /Library/Preferences/com.jamfsoftware.jamf.plist (a binary plist, which
    holds any text, control characters too)."""
    path = mac / JAMF_PLIST
    data = plistlib.loads(path.read_bytes()) if path.exists() else {}
    data.update(values)
    path.write_bytes(plistlib.dumps(data, fmt=plistlib.FMT_BINARY))


def remove_workplace_join(mac: Path, user: str) -> None:
    """Take every Workplace Join item (MS-ORGANIZATION-ACCESS certificate, workplacejoin passwords) out of a
    simulated Mac's login keychain, as a Secure Enclave registration leaves it."""
    path = mac / f"Users/{user}/Library/Keychains/login.keychain-db"
    kc = json.loads(path.read_text())
    kc["items"] = [
        i
        for i in kc["items"]
        if (i.get("issuer_cn") or "").casefold() != "ms-organization-access" and not (i.get("acct") or "").startswith("com.microsoft.workplacejoin.")
    ]
    path.write_text(json.dumps(kc))


def serve_jamf_version(monkeypatch, version: tuple[int, int, int]) -> None:
    """make_lab's tenants from now on answer as Jamf Pro ``version``."""
    monkeypatch.setattr(cloudlab, "start_tenant", functools.partial(start_tenant, jamf_version=version))
