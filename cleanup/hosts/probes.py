"""Read-only facts about a Mac, through its Host: serial, users, console user, boot time, MDM enrollment."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from cleanup.errors import HostError, SafetyRefusal
from cleanup.hosts.base import CommandResult, Host, LocalUser
from cleanup.identifiers import SERIAL_RE
from cleanup.parsers import dscl, profiles, ps, sysinfo

T = TypeVar("T")

__all__ = [
    "DSCL",
    "FIRST_REAL_UID",
    "ID",
    "IOREG",
    "PKGUTIL",
    "PROFILES",
    "PS",
    "SCUTIL",
    "SW_VERS",
    "USER_RE",
    "boot_time",
    "check",
    "console_user_name",
    "effective_uid",
    "enrollment",
    "gui_session_uids",
    "home_is_safe",
    "installed_pkgs",
    "local_users",
    "require_mac",
    "require_root",
    "serial_number",
]

# A real local user's short name: no '/', no '..', no leading '.', nothing a path could be bent with.
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
FIRST_REAL_UID = 500

IOREG = "/usr/sbin/ioreg"
DSCL = "/usr/bin/dscl"
PROFILES = "/usr/bin/profiles"
SW_VERS = "/usr/bin/sw_vers"
SCUTIL = "/usr/sbin/scutil"
ID = "/usr/bin/id"
PKGUTIL = "/usr/sbin/pkgutil"
PS = "/bin/ps"


def check(host: Host, argv: Sequence[str]) -> CommandResult:
    """Run a read-only command that must succeed."""
    res = host.run(list(argv))
    if res.returncode == 127:
        raise HostError(f"{argv[0]} is missing on {host.spec}: is it a Mac?")
    if not res.ok:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise HostError(f"`{' '.join(argv)}` failed on {host.spec} (exit {res.returncode}): {detail[-1] if detail else 'no output'}")
    return res


def require_mac(host: Host) -> str:
    """The macOS version; a host without sw_vers is not a Mac (bad input, status 2)."""
    from cleanup.errors import UsageError

    res = host.run([SW_VERS, "-productVersion"])
    if not res.ok:
        raise UsageError(f"{host.spec} is not a Mac ({SW_VERS} is missing)", hint="on a workstation, try the lab: --host sim:DIR")
    return res.stdout.strip()


def serial_number(host: Host) -> str:
    out = check(host, [IOREG, "-rd1", "-c", "IOPlatformExpertDevice"]).stdout
    try:
        serial = sysinfo.parse_ioreg_platform(out).get("serial")
    except ValueError:
        serial = None  # no serial at all: as odd as an empty one
    if not serial or not SERIAL_RE.fullmatch(serial):
        raise SafetyRefusal(f"{host.spec} reports an odd serial number {serial!r}; refusing to act on it")
    return serial


def boot_time(host: Host) -> int:
    return host.boot_time()


def effective_uid(host: Host) -> int:
    return int(check(host, [ID, "-u"]).stdout.strip())


def require_root(host: Host) -> None:
    from cleanup.errors import UsageError

    uid = effective_uid(host)
    if uid != 0:
        raise UsageError(f"the reset must run as root on the Mac (running as uid {uid})", hint="run it with sudo")


def local_users(host: Host) -> list[LocalUser]:
    """Real local users (UID >= 500) with their homes. An unsafe name in the user database is refused."""
    out = check(host, [DSCL, ".", "-list", "/Users", "UniqueID"]).stdout
    try:
        pairs = dscl.parse_uid_list(out)
    except ValueError as exc:
        raise HostError(f"cannot read the user database of {host.spec}: {exc}") from None
    real = [(name, uid) for name, uid in pairs if uid >= FIRST_REAL_UID]
    for name, uid in real:
        if not USER_RE.match(name) or ".." in name:
            raise SafetyRefusal(
                f"the user database of {host.spec} holds a user named {name!r} (UID {uid}); refusing to build paths from it",
                hint="remove or rename that record, then run again",
            )
    homes_out = check(host, [DSCL, ".", "-list", "/Users", "NFSHomeDirectory"]).stdout
    try:
        homes = dscl.parse_attribute_list(homes_out)
    except ValueError as exc:
        raise HostError(f"cannot read the home folders of {host.spec}: {exc}") from None
    users = [LocalUser(name, uid, homes.get(name, "")) for name, uid in real]
    return sorted(users, key=lambda u: u.uid)


def console_user_name(host: Host) -> str | None:
    return host.console_user()


def gui_session_uids(host: Host) -> frozenset[int] | None:
    """The uids of the users with a GUI login session (each owns a ``loginwindow``), or None when ``ps`` cannot
    tell. A login keychain is unlocked only while its user is logged in: this says who is, without asking
    security(1)."""
    res = host.run([PS, "-axo", "uid=,comm="])
    uids = ps.parse_loginwindow_uids(res.stdout) if res.ok else frozenset()
    return uids or None  # a Mac always runs a loginwindow (root's at the login window): none seen is no answer


def enrollment(host: Host) -> profiles.EnrollmentStatus:
    out = check(host, [PROFILES, "status", "-type", "enrollment"]).stdout
    return profiles.parse_enrollment_status(out)


def installed_pkgs(host: Host) -> list[str]:
    return sysinfo.parse_pkgutil_pkgs(check(host, [PKGUTIL, "--pkgs"]).stdout)


def home_is_safe(user: LocalUser) -> bool:
    """Homes we expand paths into: directly under /Users, named after the user."""
    return user.home == f"/Users/{user.name}"
