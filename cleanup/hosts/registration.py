"""Read-only: the Mac's evidence of its Entra registration in the 2026 models (Jamf Device Compliance, Platform SSO).

For every user with a login session, as that user: ``app-sso platform -s`` (Platform SSO) and Jamf Conditional
Access ``getPSSOStatus`` (MSAL's view); for every user: the jamfAAD preferences and which shared folders that a reset
must leave alone are present. For the Mac: the Jamf Conditional Access version, the Device Compliance values of
``com.jamfsoftware.jamf.plist``, Company Portal's SSO extension bundle and the configuration profiles with an
Extensible SSO payload. A missing or odd tool is a note, never a failure of the whole read; nothing is changed
(``gatherAADInfo``, which acquires tokens, is never run here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from cleanup.errors import HostError, UnsafePath
from cleanup.hosts import probes
from cleanup.hosts.base import CommandResult, Host, LocalUser
from cleanup.parsers import appsso, config_profiles, jamfca, sysinfo


class _Noted(Protocol):
    @property
    def notes(self) -> tuple[str, ...]: ...


P = TypeVar("P", bound=_Noted)
T = TypeVar("T")

APP_SSO = "/usr/bin/app-sso"
JAMF_CA_DIR = "/Library/Application Support/JAMF/Jamf.app/Contents/MacOS/Jamf Conditional Access.app/Contents/MacOS"
#: both spellings field scripts use (one file on a case-insensitive APFS volume)
JAMF_CA_PATHS = (f"{JAMF_CA_DIR}/Jamf Conditional Access", f"{JAMF_CA_DIR}/JAMF Conditional Access")
JAMF_PLIST = "/Library/Preferences/com.jamfsoftware.jamf.plist"
JAMFAAD_PREFS = "Library/Preferences/com.jamf.management.jamfAAD.plist"
SSO_APPEX = "/Applications/Company Portal.app/Contents/PlugIns/Mac SSO Extension.appex"
GROUP_CONTAINERS = ("UBF8T346G9.com.microsoft.entrabroker", "UBF8T346G9.com.microsoft.oneauth")
GET_PSSO_SINCE = (11, 21, 1)
MAX_PLIST_BYTES = 1 << 20
COMMAND_TIMEOUT = 60.0
READ_WORKERS = 4  # commands in flight at once


@dataclass(frozen=True)
class UserEvidence:
    name: str
    uid: int
    logged_in: bool  # only then is anything run as this user
    platform_sso: appsso.PlatformSSOState | None = None
    psso_status: jamfca.PSSOStatus | None = None
    jamfaad: jamfca.JamfAADPrefs | None = None
    #: Mac paths present in this home that a reset must not delete wholesale (shared group containers, the
    #: data-protection keychain folder ~/Library/Keychains/<hardware UUID>)
    shared_folders: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistrationEvidence:
    users: tuple[UserEvidence, ...]
    jamf_ca: str | None  # the Jamf Conditional Access binary used, by the path that exists
    jamf_ca_version: str | None
    jamf_prefs: jamfca.JamfPrefs | None
    sso_extension: bool  # Company Portal's Mac SSO Extension bundle is installed
    sso_profiles: tuple[config_profiles.ConfigProfile, ...]  # profiles with a com.apple.extensiblesso payload
    hardware_uuid: str | None
    missing: tuple[str, ...] = ()  # tools that are not on this Mac
    notes: tuple[str, ...] = field(default=())

    @property
    def psso_device_ids(self) -> tuple[str, ...]:
        """Distinct Entra deviceIds of the Platform SSO registration, as the users' ``app-sso`` shows them."""
        ids = [u.platform_sso.device_id for u in self.users if u.platform_sso and u.platform_sso.registered and u.platform_sso.device_id]
        return tuple(dict.fromkeys(ids))

    @property
    def msal_device_ids(self) -> dict[str, str]:
        """user -> the deviceId ``getPSSOStatus`` reports (Platform SSO or Workplace Join, whichever MSAL sees)."""
        return {u.name: u.psso_status.device_id for u in self.users if u.psso_status and u.psso_status.device_id}

    @property
    def models(self) -> tuple[str, ...]:
        """Which 2026 models the evidence shows: ``platform-sso`` (a completed PSSO registration),
        ``device-compliance`` (Jamf's Device Compliance values in the jamf plist)."""
        found = []
        if any(u.platform_sso and u.platform_sso.registered for u in self.users) or any(u.psso_status and u.psso_status.status == 2 for u in self.users):
            found.append("platform-sso")
        if self.jamf_prefs is not None and self.jamf_prefs.device_compliance:
            found.append("device-compliance")
        return tuple(found)


def _older(version: str, than: tuple[int, ...]) -> bool:
    """``version`` (``11.10.1``, ``11.10.1-t1722263839``) is older than ``than``; False when it cannot tell."""
    parts = []
    for piece in version.split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return bool(parts) and tuple(parts) < than


def _detail(res: CommandResult) -> str:
    lines = (res.stderr or res.stdout).strip().splitlines()
    return lines[-1][:120] if lines else "no output"


class _Reader:
    def __init__(self, host: Host, retry_delay: float):
        self.host = host
        self.retry_delay = retry_delay
        self.notes: list[str] = []
        self.missing: list[str] = []

    def fork(self) -> _Reader:
        """A reader for one command run beside the others: its notes are joined in a fixed order afterwards."""
        return _Reader(self.host, self.retry_delay)

    def join(self, child: _Reader, value: T) -> T:
        self.notes.extend(child.notes)
        for what in child.missing:
            self.miss(what)
        return value

    def miss(self, what: str) -> None:
        if what not in self.missing:
            self.missing.append(what)

    def run(self, argv: Sequence[str], user: LocalUser | None = None) -> CommandResult | None:
        who = f" as {user.name}" if user else ""
        try:
            res = self.host.run_as_user(user, argv, timeout=COMMAND_TIMEOUT) if user else self.host.run(argv, timeout=COMMAND_TIMEOUT)
        except HostError as exc:
            self.notes.append(f"{argv[-1]}{who}: {exc.message}")
            return None
        return res

    def kind(self, path: str) -> str | None:
        try:
            info = self.host.lstat(path)
        except HostError as exc:
            self.notes.append(f"cannot look at {path}: {exc.message}")
            return None
        return info.kind if info else None

    def plist(self, path: str) -> bytes | None:
        """A regular file's bytes; None (with a note unless absent) for a link, a folder, a large file."""
        try:
            info = self.host.lstat(path)
            if info is None:
                return None
            if info.kind != "file" or info.size > MAX_PLIST_BYTES:
                self.notes.append(f"{path} is not read: it is {'a ' + info.kind if info.kind != 'file' else f'{info.size} bytes'}")
                return None
            return self.host.read_bytes(path)
        except (HostError, UnsafePath) as exc:
            self.notes.append(f"{path} is not read: {exc.message}")
            return None

    # ---------------------------------------------------------------- the Mac

    def hardware_uuid(self) -> str | None:
        res = self.run([probes.IOREG, "-rd1", "-c", "IOPlatformExpertDevice"])
        try:
            if res is None or not res.ok:
                raise ValueError(_detail(res) if res else "not run")
            return sysinfo.parse_ioreg_platform(res.stdout)["uuid"] or None
        except ValueError as exc:
            self.notes.append(f"the hardware UUID is unknown ({exc}): the data-protection keychain folder is not looked for")
            return None

    def jamf_ca(self) -> str | None:
        for path in JAMF_CA_PATHS:
            if self.kind(path) in ("file", "link"):
                return path
        self.miss("Jamf Conditional Access")
        return None

    def ca_version(self, ca: str) -> str | None:
        res = self.run([ca, "version"])
        if res is None:
            return None
        try:
            if not res.ok:
                raise ValueError(f"exit {res.returncode}: {_detail(res)}")
            return jamfca.parse_version(res.stdout)
        except ValueError as exc:
            self.notes.append(f"Jamf Conditional Access version: {exc}")
            return None

    def parsed_plist(self, path: str, parse: Callable[[bytes], P]) -> P | None:
        """``parse`` of the plist at ``path`` (its notes kept, named by the path); None when absent or unreadable."""
        data = self.plist(path)
        if data is None:
            return None
        try:
            parsed = parse(data)
        except ValueError as exc:
            self.notes.append(f"{path}: {exc}")
            return None
        self.notes.extend(f"{path}: {n}" for n in parsed.notes)
        return parsed

    def jamf_prefs(self) -> jamfca.JamfPrefs | None:
        return self.parsed_plist(JAMF_PLIST, jamfca.parse_jamf_plist)

    def sso_profiles(self) -> tuple[config_profiles.ConfigProfile, ...]:
        res = self.run([probes.PROFILES, "show", "-type", "configuration"])
        if res is None:
            return ()
        try:
            if not res.ok:
                raise ValueError(f"exit {res.returncode}: {_detail(res)}")
            found = config_profiles.parse_profiles_show(res.stdout)
        except ValueError as exc:
            self.notes.append(f"the configuration profiles are unknown: {exc}")
            return ()
        return tuple(p for p in found if config_profiles.EXTENSIBLE_SSO in p.payload_types)

    def parsed(self, what: str, res: CommandResult, parse: Callable[[str], P], failing: str = "") -> P | None:
        """A command's output parsed, or None with a note naming ``what`` when it failed or is unreadable."""
        try:
            if not res.ok:
                raise ValueError(f"exit {res.returncode}: {_detail(res)}{failing}")
            return parse(res.stdout)
        except ValueError as exc:
            self.notes.append(f"{what}: {exc}")
            return None

    # ---------------------------------------------------------------- one user

    def platform_sso(self, user: LocalUser) -> appsso.PlatformSSOState | None:
        res = self.run([APP_SSO, "platform", "-s"], user)
        if res is None:
            return None
        if res.returncode == 127:
            self.miss("app-sso")
            return None
        state = self.parsed(f"app-sso platform -s as {user.name}", res, appsso.parse_platform_state)
        if state is None:
            return None
        self.notes.extend(f"app-sso platform -s as {user.name}: {n}" for n in state.notes)
        return state

    def psso_status(self, user: LocalUser, ca: str) -> jamfca.PSSOStatus | None:
        for attempt in (1, 2):
            res = self.run([ca, "getPSSOStatus"], user)
            if res is None:
                return None
            status = self.parsed(f"getPSSOStatus as {user.name}", res, jamfca.parse_psso_status, " (getPSSOStatus needs Jamf Pro 11.21.1 or later)")
            if status is None:
                return None
            if status.timed_out and status.status is None and attempt == 1:
                time.sleep(self.retry_delay)  # as field scripts do: one retry after a timeout
                continue
            if status.timed_out and status.status is None:
                self.notes.append(f"getPSSOStatus as {user.name} timed out twice")
            self.notes.extend(f"getPSSOStatus as {user.name}: {n}" for n in status.notes)
            return status
        return None

    def jamfaad(self, user: LocalUser) -> jamfca.JamfAADPrefs | None:
        return self.parsed_plist(f"{user.home}/{JAMFAAD_PREFS}", jamfca.parse_jamfaad_prefs)

    def shared_folders(self, user: LocalUser, hw: str | None) -> tuple[str, ...]:
        paths = [f"{user.home}/Library/Group Containers/{name}" for name in GROUP_CONTAINERS]
        if hw:
            paths.append(f"{user.home}/Library/Keychains/{hw}")
        return tuple(p for p in paths if self.kind(p) == "dir")


def read_platform_sso(host: Host, user: LocalUser) -> tuple[appsso.PlatformSSOState | None, str | None]:
    """``app-sso platform -s`` as ``user`` (in their login session): the state, or None and why not."""
    r = _Reader(host, 0.0)
    state = r.platform_sso(user)
    problems = [f"app-sso is not on this Mac ({APP_SSO})"] if r.missing else r.notes
    return state, None if state is not None else ("; ".join(problems) or "app-sso gave no answer")


def evidence_facts(ev: RegistrationEvidence) -> dict[str, Any]:
    """The evidence as step 0 records it (``facts["registration"]``): JSON-able, deviceIds lower-case, no key material."""
    prefs = ev.jamf_prefs
    dc = None
    if prefs is not None and (prefs.ca_enabled is not None or prefs.native_client_app_id or prefs.tenant_domain):
        dc = {"enabled": prefs.ca_enabled is True, "client_id": prefs.native_client_app_id, "tenant_domain": prefs.tenant_domain}
    users = []
    for u in ev.users:
        sso = u.platform_sso
        users.append(
            {
                "name": u.name,
                "uid": u.uid,
                "logged_in": u.logged_in,
                # the device's registration is completed and this user has their own (a User Configuration)
                "psso_registered": bool(sso and sso.registered and sso.user is not None),
                "psso_device_id": sso.device_id.lower() if sso and sso.device_id else None,
                "psso_secure_enclave": bool(sso and sso.secure_enclave),
                "psso_status": u.psso_status.status if u.psso_status else None,
                "shared_folders": list(u.shared_folders),
            }
        )
    return {
        "models": list(ev.models),
        "psso_device_ids": [d.lower() for d in ev.psso_device_ids],
        "msal_device_ids": {k: v.lower() for k, v in ev.msal_device_ids.items()},
        "jamf_ca": ev.jamf_ca,
        "jamf_ca_version": ev.jamf_ca_version,
        "device_compliance": dc,
        "sso_extension": ev.sso_extension,
        "sso_profiles": [p.identifier for p in ev.sso_profiles if p.identifier],
        "hardware_uuid": ev.hardware_uuid,
        "users": users,
        "missing": list(ev.missing),
        "notes": list(ev.notes),
    }


_ASK = frozenset({-1})  # sessions' default: ask the Mac


def read_registration_evidence(
    host: Host, *, retry_delay: float = 5.0, users: Sequence[LocalUser] | None = None, sessions: frozenset[int] | None = _ASK
) -> RegistrationEvidence:
    """The evidence, read through ``host``. Raises only what the user list raises for an unsafe user database
    (SafetyRefusal); every other problem is a note or a missing tool. ``users`` and ``sessions`` (a
    ``probes.gui_session_uids`` answer): what the caller has read already (step 0).

    The commands run side by side, a few at a time (two rounds: ``getPSSOStatus`` only once the Jamf Conditional
    Access version is known); the notes come out in the same order whatever finishes first."""
    r = _Reader(host, retry_delay)
    if users is None:
        try:
            users = probes.local_users(host)
        except HostError as exc:
            r.notes.append(f"the local users are unknown: {exc.message}")
            users = []
    if sessions is _ASK:
        try:
            sessions = probes.gui_session_uids(host)
        except HostError:
            sessions = None
    if sessions is None:
        try:
            console = host.console_user()
        except HostError:
            console = None
        sessions = frozenset(u.uid for u in users if u.name == console)
        r.notes.append("ps cannot tell who is logged in: only the console user is read")
    if r.kind(APP_SSO) is None:
        r.miss("app-sso")
    ca = r.jamf_ca()
    has_app_sso = "app-sso" not in r.missing
    on = [u for u in users if u.uid in sessions]
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        hw_r, ver_r, prof_r = r.fork(), r.fork(), r.fork()
        hw_f = pool.submit(hw_r.hardware_uuid)
        ver_f = pool.submit(ver_r.ca_version, ca) if ca else None
        prof_f = pool.submit(prof_r.sso_profiles)
        sso_rs = {u.name: r.fork() for u in on}
        sso_fs = {u.name: pool.submit(sso_rs[u.name].platform_sso, u) for u in on if has_app_sso}
        hw = r.join(hw_r, hw_f.result())
        version = r.join(ver_r, ver_f.result()) if ver_f else None
        psso_ca = ca
        if ca and version and _older(version, GET_PSSO_SINCE):
            r.notes.append(f"Jamf Conditional Access {version} has no getPSSOStatus (Jamf Pro 11.21.1 or later): MSAL's view is not read")
            psso_ca = None
        status_rs = {u.name: r.fork() for u in on}
        status_fs = {u.name: pool.submit(status_rs[u.name].psso_status, u, psso_ca) for u in on if psso_ca}
        sso_profiles = prof_f.result()
        found = []
        for user in users:
            safe = probes.home_is_safe(user)
            if not safe:
                r.notes.append(f"{user.name}'s home {user.home!r} is not /Users/{user.name}: its files are not read")
            logged = user.uid in sessions
            sso = r.join(sso_rs[user.name], sso_fs[user.name].result()) if user.name in sso_fs else None
            status = r.join(status_rs[user.name], status_fs[user.name].result()) if user.name in status_fs else None
            found.append(
                UserEvidence(
                    name=user.name,
                    uid=user.uid,
                    logged_in=logged,
                    platform_sso=sso,
                    psso_status=status,
                    jamfaad=r.jamfaad(user) if safe else None,
                    shared_folders=r.shared_folders(user, hw) if safe else (),
                )
            )
    jamf_prefs = r.jamf_prefs()
    sso_extension = r.kind(SSO_APPEX) == "dir"
    r.join(prof_r, None)
    return RegistrationEvidence(
        users=tuple(found),
        jamf_ca=ca,
        jamf_ca_version=version,
        jamf_prefs=jamf_prefs,
        sso_extension=sso_extension,
        sso_profiles=sso_profiles,
        hardware_uuid=hw,
        missing=tuple(r.missing),
        notes=tuple(r.notes),
    )
