"""What the emulated Jamf Pro escrowed for its computer records: FileVault personal recovery keys, Recovery Lock
passwords and LAPS-managed local admin accounts.

As Jamf Pro: the inventory's DISK_ENCRYPTION and SECURITY sections say which a record holds (never the values);
``…/computers-inventory/{id}/filevault`` (View Disk Encryption Recovery Key) and
``…/{id}/view-recovery-lock-password`` give the values; ``/api/v2/local-admin-password/{managementId}/accounts``
lists the LAPS accounts and ``…/account/{username}/password`` shows one password (View Local Admin Password),
**which makes Jamf Pro rotate it** once its rotation time has passed. The privilege of the Recovery Lock route is
not confirmed by any source: the lab requires "View Recovery Lock" (``RECOVERY_LOCK_PRIVILEGE``).
The secrets go with their record: a deleted record's are gone.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field

RECOVERY_LOCK_PRIVILEGE = "View Recovery Lock"
FILEVAULT_PRIVILEGE = "View Disk Encryption Recovery Key"
LAPS_PRIVILEGE = "View Local Admin Password"
ROTATION_SECONDS = 3600.0  # Jamf Pro's default "rotation time" after a LAPS password was viewed


def recovery_key() -> str:
    """A FileVault personal recovery key in Apple's shape: six groups of four."""
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(6))


def laps_password() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class LapsAccount:
    password: str
    views: int = 0
    rotate_at: float | None = None  # a view set it: the password changes once this time has passed
    rotations: int = 0

    def current(self, now: float) -> str:
        if self.rotate_at is not None and now >= self.rotate_at:
            self.password, self.rotate_at, self.rotations = laps_password(), None, self.rotations + 1
        return self.password


@dataclass
class Escrowed:
    """One record's secrets. ``filevault_status`` is what ``individualRecoveryKeyValidityStatus`` reports."""

    filevault_key: str | None = None
    filevault_status: str = "NOT_APPLICABLE"
    recovery_lock: str | None = None
    laps: dict[str, LapsAccount] = field(default_factory=dict)


class JamfEscrow:
    """Every record's escrowed secrets, by computer id; the tenant's lock guards it."""

    def __init__(self) -> None:
        self.records: dict[str, Escrowed] = {}
        self.rotation_seconds = ROTATION_SECONDS
        self.views: list[dict] = []  # every value shown: (kind, computer id, account, time), for tests

    def set(self, cid: str, *, filevault_key: str | None = None, status: str | None = None, recovery_lock: str | None = None, laps=()) -> Escrowed:
        entry = self.records.setdefault(cid, Escrowed())
        if filevault_key is not None:
            entry.filevault_key = filevault_key
            entry.filevault_status = status or "VALID"
        elif status is not None:
            entry.filevault_status = status
        if recovery_lock is not None:
            entry.recovery_lock = recovery_lock
        for name, password in dict(laps).items():
            entry.laps[name] = LapsAccount(password)
        return entry

    def of(self, cid: str) -> Escrowed:
        return self.records.get(cid) or Escrowed()

    def viewed(self, kind: str, cid: str, account: str | None = None) -> None:
        self.views.append({"kind": kind, "computer": cid, "account": account, "at": time.time()})

    def show_laps(self, cid: str, username: str) -> str | None:
        """A LAPS password as a view shows it; the view makes it rotate after the rotation time."""
        account = self.of(cid).laps.get(username)
        if account is None:
            return None
        now = time.time()
        password = account.current(now)
        account.views += 1
        if account.rotate_at is None:
            account.rotate_at = now + self.rotation_seconds
        self.viewed("laps", cid, username)
        return password
