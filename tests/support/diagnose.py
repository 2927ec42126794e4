"""Helpers for the diagnose tests: a simulated Mac's jamfAAD preferences, and reading check results."""

from __future__ import annotations

import plistlib
import time
from pathlib import Path

JAMFAAD = "Users/{user}/Library/Preferences/com.jamf.management.jamfAAD.plist"


def set_jamfaad(mac: Path, user: str, **prefs) -> None:
    """Rewrite a user's jamfAAD preferences on a simulated Mac (the builder's token is from 2025)."""
    path = mac / JAMFAAD.format(user=user)
    data = plistlib.loads(path.read_bytes())
    data.update(prefs)
    path.write_bytes(plistlib.dumps(data))


def fresh_token(mac: Path, user: str = "alice") -> None:
    set_jamfaad(mac, user, last_aad_token_timestamp=int(time.time()) - 3600)


def by_id(checks) -> dict:
    return {c.id: c for c in checks}


def problems(checks) -> set[str]:
    return {c.id for c in checks if c.status == "problem"}
