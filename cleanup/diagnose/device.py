"""Device checks, read-only, through the Host (this Mac, a simulated Mac, later SSH): Company Portal's log
lines of Causes 4 and 5, jamfAAD's state, the Workplace Join items and whether the login keychains can be
read at all. Login keychains are read as their users, exactly as step 0 of a run reads them. The Mac's
evidence of the 2026 models (``cleanup.hosts.registration``) is read once too; its checks are in ``sso``."""

from __future__ import annotations

import plistlib
import threading
from typing import TYPE_CHECKING

from cleanup.actions.keychain_items import locked_reason, read_all
from cleanup.diagnose import model as M
from cleanup.diagnose.model import age_text, iso
from cleanup.diagnose.registration import NO_RECURRING_GATHER, version_text
from cleanup.engine.context import RunContext, RunOptions
from cleanup.errors import CleanupError, Unavailable
from cleanup.hosts import probes
from cleanup.hosts.base import Host, LocalUser
from cleanup.hosts.registration import RegistrationEvidence, read_registration_evidence

if TYPE_CHECKING:
    from cleanup.diagnose.registration import Registration

DAY = 86400.0
PORTAL_LOGS = "Library/Logs/Company Portal"  # per user: ~/Library/Logs/Company Portal/*.log
JAMFAAD_PLIST = "Library/Preferences/com.jamf.management.jamfAAD.plist"
MAX_LOG_BYTES = 64 << 20  # larger files are named, not read
WPJ_ISSUER = "ms-organization-access"
WPJ_THUMBPRINT = "com.microsoft.workplacejoin.thumbprint"
#: the article's log lines, matched ignoring case
LOG_LINES = {
    "cause4": "Portal launched without WPJ only arg while account is under partner management",
    "cause5": "Registration-only command line flag (-r) can only be used when partner management is enabled",
}


class DeviceData:
    """What the device checks read, each once. ``users`` are the real local users (UID >= 500)."""

    def __init__(self, host: Host, users: list[LocalUser]):
        self.host = host
        self.users = users
        self._lock = threading.RLock()  # workplace_join reads keychains() inside its own fetch
        self._cache: dict[str, object] = {}
        self._evidence_lock = threading.Lock()  # the evidence's commands run beside the keychain reads
        self._evidence: RegistrationEvidence | Unavailable | None = None
        self.reg: Registration | None = None  # set by the runner: the model and Jamf Pro's version

    def registration(self) -> RegistrationEvidence:
        """The Mac's evidence of its registration (Platform SSO, getPSSOStatus, the jamf plist, ...), read once."""
        with self._evidence_lock:
            if self._evidence is None:
                try:
                    self._evidence = read_registration_evidence(self.host)
                except CleanupError as exc:
                    self._evidence = Unavailable(f"cannot read the Mac's registration ({self.host.spec}): {exc.message}")
            found = self._evidence
        if isinstance(found, Unavailable):
            raise found
        return found

    def _once(self, key: str, fetch):
        with self._lock:  # device reads are few; one at a time keeps the Mac's load low
            if key not in self._cache:
                try:
                    self._cache[key] = fetch()
                except Unavailable as exc:
                    self._cache[key] = exc
                except CleanupError as exc:
                    self._cache[key] = Unavailable(f"cannot read the Mac ({self.host.spec}): {exc.message}")
            value = self._cache[key]
        if isinstance(value, Unavailable):
            raise value
        return value

    def portal_logs(self) -> dict:
        return self._once("logs", self._scan_logs)

    def _scan_logs(self) -> dict:
        files, skipped = [], []
        hits: dict[str, list[dict]] = {k: [] for k in LOG_LINES}
        wanted = {k: v.casefold() for k, v in LOG_LINES.items()}
        for user in self.users:
            folder = f"{user.home}/{PORTAL_LOGS}"
            for name in self.host.listdir(folder):
                path = f"{folder}/{name}"
                if not name.endswith(".log"):
                    continue
                info = self.host.lstat(path)
                if info is None or info.kind != "file":
                    continue
                if info.size > MAX_LOG_BYTES:
                    skipped.append({"file": path, "bytes": info.size})
                    continue
                files.append(path)
                text = self.host.read_bytes(path).decode("utf-8", "replace")
                for number, line in enumerate(text.splitlines(), 1):
                    folded = line.casefold()
                    for key, needle in wanted.items():
                        if needle in folded:
                            hits[key].append({"user": user.name, "file": path, "line": number, "logged_at": line[:23] if line[:4].isdigit() else None})
        return {"files": files, "skipped": skipped, "hits": hits}

    def jamfaad(self) -> list[dict]:
        return self._once("jamfaad", self._read_jamfaad)

    def _read_jamfaad(self) -> list[dict]:
        found = []
        for user in self.users:
            path = f"{user.home}/{JAMFAAD_PLIST}"
            info = self.host.lstat(path)
            if info is None or info.kind != "file":
                continue
            try:
                prefs = plistlib.loads(self.host.read_bytes(path))
            except (plistlib.InvalidFileException, ValueError):
                found.append({"user": user.name, "file": path, "unreadable": True})
                continue
            stamp = prefs.get("last_aad_token_timestamp")
            found.append(
                {
                    "user": user.name,
                    "file": path,
                    "have_an_Azure_id": prefs.get("have_an_Azure_id"),
                    "last_aad_token_timestamp": stamp if isinstance(stamp, (int, float)) else None,
                }
            )
        return found

    def keychains(self) -> list:
        def read():
            ctx = RunContext(
                host=self.host, options=RunOptions(dry_run=True), facts={"users": [{"name": u.name, "uid": u.uid, "home": u.home} for u in self.users]}
            )
            return [v for v in read_all(ctx) if v.owner is not None]

        return self._once("keychains", read)

    def workplace_join(self) -> dict:
        """Per login keychain: the MS-ORGANIZATION-ACCESS certificates (deviceIds) and workplacejoin passwords."""

        def scan():
            out = {"users": [], "locked": []}
            for view in self.keychains():
                if view.locked:
                    out["locked"].append({"user": view.owner.name, "why": locked_reason(view)})
                    continue
                certs = [i for i in view.items if i.item_class == "cert" and (i.issuer_cn or "").casefold() == WPJ_ISSUER]
                accounts = sorted(
                    {i.get("acct") for i in view.items if i.item_class == "genp" and (i.get("acct") or "").startswith("com.microsoft.workplacejoin.")}
                )
                complete = bool(certs) and WPJ_THUMBPRINT in accounts
                state = "registered" if complete else ("partial" if certs or accounts else "none")
                out["users"].append(
                    {
                        "user": view.owner.name,
                        "state": state,
                        "device_ids": [c.get("labl") or c.subject_cn for c in certs],
                        "certificates": [c.sha1 for c in certs],
                        "passwords": accounts,
                    }
                )
            return out

        return self._once("wpj", scan)


def open_device(host: Host | None) -> tuple[DeviceData | None, str | None, str | None]:
    """(device data, the Mac's serial, why the device checks cannot run)."""
    if host is None or not host.device:
        return None, None, "no Mac to check (name one with --host)"
    try:
        probes.require_mac(host)
        serial = probes.serial_number(host)
        users = probes.local_users(host)
    except CleanupError as exc:
        if exc.exit_code == 4:  # an odd serial or an unsafe user name: refuse to read on
            return None, None, f"refusing to read {host.spec}: {exc.message}"
        return None, None, exc.message
    return DeviceData(host, users), serial, None


# -- checks -----------------------------------------------------------------------------------------------


def _log_check(row: M.Row, key: str, dev: DeviceData):
    logs = dev.portal_logs()
    evidence = {"log_files": len(logs["files"]), "hits": logs["hits"][key], "too_large": logs["skipped"]}
    hits = logs["hits"][key]
    if hits:
        last = hits[-1]
        when = f", {last['logged_at']}" if last["logged_at"] else ""
        return row.problem(f'Company Portal log of {last["user"]} ({last["file"].rsplit("/", 1)[-1]}, line {last["line"]}{when}): "{LOG_LINES[key]}"', evidence)
    if not logs["files"]:
        return row.ok("no Company Portal log on the Mac (Company Portal has not run for any user)", **evidence)
    return row.ok(f"not in {len(logs['files'])} Company Portal log file(s)", **evidence)


def portal_log_cause4(dev: DeviceData, now: float):
    return _log_check(M.CAUSE_4, "cause4", dev)


def portal_log_cause5(dev: DeviceData, now: float):
    return _log_check(M.CAUSE_5_LOG, "cause5", dev)


def jamfaad_state(dev: DeviceData, now: float):
    row = M.JAMFAAD
    states = dev.jamfaad()
    for s in states:
        ts = s.get("last_aad_token_timestamp")
        if ts is not None:
            s["last_token_at"] = iso(ts)
            s["hours_since_token"] = round((now - ts) / 3600, 1)
    version, source = dev.reg.jamf_version() if dev.reg else (None, "unknown")
    evidence = {"users": states, "jamf_pro_version": {"version": version_text(version) if version else None, "read_from": source}}
    if not states:
        return row.unknown("no user on the Mac has jamfAAD state (never registered through Jamf here)", **evidence)
    not_registered = [s["user"] for s in states if s.get("have_an_Azure_id") is False]
    stale = [s for s in states if s.get("last_aad_token_timestamp") is not None and now - s["last_aad_token_timestamp"] > DAY]
    if not_registered:
        return row.problem(
            f"jamfAAD has no Azure id for {', '.join(not_registered)}: not registered with Entra",
            evidence,
            cause="not registered with Entra",
            remedy=M.REGISTER,
        )
    if stale and version and version >= NO_RECURRING_GATHER:
        s = stale[0]
        return row.ok(
            f"jamfAAD has an Azure id; its last token for {s['user']} is from {s['last_token_at']} ({age_text(now - s['last_aad_token_timestamp'])}), "
            f"which is no symptom on Jamf Pro {version_text(version)} (read from {source}): the recurring gatherAADInfo was removed in 11.5",
            **evidence,
        )
    if stale:
        s = stale[0]
        unsure = "" if version else " (Jamf Pro's version is unknown: the age is a symptom only before 11.5)"
        age = age_text(now - s["last_aad_token_timestamp"])
        return row.problem(
            f"jamfAAD's last Azure token for {s['user']} is from {s['last_token_at']} ({age}): older than 24 hours{unsure}",
            evidence,
        )
    if any(s.get("unreadable") for s in states):
        return row.unknown("a jamfAAD preference file cannot be read", **evidence)
    return row.ok("jamfAAD has an Azure id and a token renewed within 24 hours", **evidence)


def workplace_join(dev: DeviceData, now: float):
    row = M.WORKPLACE_JOIN
    wpj = dev.workplace_join()
    evidence = {"users": wpj["users"], "locked": [x["user"] for x in wpj["locked"]]}
    partial = [u for u in wpj["users"] if u["state"] == "partial"]
    registered = [u for u in wpj["users"] if u["state"] == "registered"]
    if partial:
        u = partial[0]
        what = "a certificate without its thumbprint password" if u["certificates"] else "passwords without a certificate"
        return row.problem(f"incomplete Workplace Join items in {u['user']}'s login keychain ({what})", evidence)
    if registered:
        ids = "; ".join(f"{u['user']}: {', '.join(u['device_ids'])}" for u in registered)
        return row.ok(f"Workplace Join certificate and passwords present ({ids})", **evidence)
    elsewhere = _keys_security_cannot_see(dev)
    if elsewhere:
        evidence["registrations_outside_the_keychain"] = elsewhere
        shown = "; ".join(f"{e['user']}: {e['seen_by']} deviceId {e['deviceId']}" for e in elsewhere)
        return row.ok(f"no Workplace Join items in the login keychains, as expected: the registration's keys are in the Secure Enclave ({shown})", **evidence)
    if wpj["locked"]:
        return row.unknown("; ".join(x["why"] for x in wpj["locked"]), **evidence)
    if not wpj["users"]:
        return row.unknown("no login keychain on the Mac", **evidence)
    return row.problem(
        "no Workplace Join certificate in any login keychain: the Mac is not registered with Entra",
        evidence,
        cause="not registered with Entra (after a reset, until step 13)",
        remedy=M.REGISTER,
        playbook=None,
    )


def _keys_security_cannot_see(dev: DeviceData) -> list[dict]:
    """Registrations the Mac holds whose keys `security` cannot list: a completed Platform SSO registration, or a
    deviceId MSAL reports (getPSSOStatus) for a user: "WPJ key in the Secure Enclave", as Jamf's own scripts say."""
    try:
        ev = dev.registration()
    except Unavailable:
        return []
    found = []
    for u in ev.users:
        if u.platform_sso and u.platform_sso.registered:
            found.append({"user": u.name, "seen_by": "Platform SSO (app-sso)", "deviceId": u.platform_sso.device_id})
        elif u.psso_status and u.psso_status.device_id:
            found.append({"user": u.name, "seen_by": "MSAL (getPSSOStatus)", "deviceId": u.psso_status.device_id})
    return found


def login_keychains(dev: DeviceData, now: float):
    row = M.KEYCHAINS
    views = dev.keychains()
    locked = [v for v in views if v.locked]
    evidence = {"keychains": [{"user": v.owner.name, "path": v.path, "locked": v.locked} for v in views]}
    if locked:
        return row.unknown("; ".join(locked_reason(v) for v in locked), **evidence)
    if not views:
        return row.unknown("no login keychain on the Mac", **evidence)
    return row.ok(f"{len(views)} login keychain(s) readable", **evidence)


CHECKS = [portal_log_cause4, portal_log_cause5, jamfaad_state, workplace_join, login_keychains]
ROWS = {
    portal_log_cause4: M.CAUSE_4,
    portal_log_cause5: M.CAUSE_5_LOG,
    jamfaad_state: M.JAMFAAD,
    workplace_join: M.WORKPLACE_JOIN,
    login_keychains: M.KEYCHAINS,
}
