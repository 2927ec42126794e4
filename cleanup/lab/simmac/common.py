"""Shared helpers of the simulated Mac: state, path mapping, users database, keychains, fake installation.

Stdlib only and cheap to import (the fakes import this module on every invocation).
"""

from __future__ import annotations

import os
import posixpath
import sys

STATE_FORMAT = "simmac/1"
KEYCHAIN_FORMAT = "simkeychain/1"
LAB_DIR = ".lab"
STATE_REL = ".lab/state.json"
FAULTS_REL = ".lab/faults.json"
CALLS_REL = ".lab/calls"
USERS_DB = "/var/db/dslocal/nodes/Default/users"
SYSTEM_KEYCHAIN = "/Library/Keychains/System.keychain"
LOGIN_KEYCHAIN_REL = "Library/Keychains/login.keychain-db"
MAC_PATH = ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin")

#: tool name -> Mac path of its fake executable
FAKE_TOOLS = {
    "security": "/usr/bin/security",
    "profiles": "/usr/bin/profiles",
    "pkgutil": "/usr/sbin/pkgutil",
    "killall": "/usr/bin/killall",
    "sysctl": "/usr/sbin/sysctl",
    "shutdown": "/sbin/shutdown",
    "launchctl": "/bin/launchctl",
    "dscl": "/usr/bin/dscl",
    "stat": "/usr/bin/stat",
    "sudo": "/usr/bin/sudo",
    "id": "/usr/bin/id",
    "sw_vers": "/usr/bin/sw_vers",
    "ioreg": "/usr/sbin/ioreg",
    "scutil": "/usr/sbin/scutil",
    "open": "/usr/bin/open",
    "ps": "/bin/ps",
    "app-sso": "/usr/bin/app-sso",
    "osascript": "/usr/bin/osascript",
}
#: installed only when the Mac is built with swiftDialog; jamfHelper comes and goes with the Jamf framework
SWIFT_DIALOG = "/usr/local/bin/dialog"
JAMF_BIN = "/usr/local/jamf/bin/jamf"
JAMF_LINK = "/usr/local/bin/jamf"
JAMF_SUPPORT = "/Library/Application Support/JAMF"
JAMF_CA_APP = JAMF_SUPPORT + "/Jamf.app/Contents/MacOS/Jamf Conditional Access.app"
JAMF_CA_BIN = JAMF_CA_APP + "/Contents/MacOS/Jamf Conditional Access"
#: the spelling field scripts also use; APFS is case-insensitive, Linux is not: a second copy of the fake
JAMF_CA_BIN_UPPER = JAMF_CA_APP + "/Contents/MacOS/JAMF Conditional Access"
JAMF_HELPER = JAMF_SUPPORT + "/bin/jamfHelper.app/Contents/MacOS/jamfHelper"
JAMF_DAEMONS = ("com.jamfsoftware.task.1.plist", "com.jamfsoftware.jamf.daemon.plist")
JAMF_AGENTS = ("com.jamf.management.agent.plist",)
JAMF_PKGS = ("com.jamfsoftware.jamf",)
JAMF_VERSION = "11.10.1-t1722263839"


# --------------------------------------------------------------------------- files


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``."""
    d = os.path.dirname(path)
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def dump_json(obj) -> bytes:
    import json

    return (json.dumps(obj, indent=2) + "\n").encode()


class _ScanContext:
    """What the C JSON scanner reads from ``json.JSONDecoder``, without importing json (and re, enum) at all."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo = None


_scan = None


def load_json(path: str):
    """Read a JSON file the lab wrote. Every fake tool reads some; importing ``json`` would cost each call ~10 ms."""
    global _scan
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    try:
        if _scan is None:
            import _json

            _scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]  # the C scanner reads these attributes only (typeshed: a duck type)
        start = len(text) - len(text.lstrip())
        return _scan(text, start)[0]
    except (ImportError, StopIteration, ValueError):
        import json

        return json.loads(text)


# --------------------------------------------------------------------------- paths


def host_path(root: str, mac: str) -> str:
    """Lexical mapping of a Mac path to the host path under ``root`` (never leaves ``root``)."""
    norm = posixpath.normpath("/" + mac)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return os.path.join(root, norm.lstrip("/")) if norm != "/" else root


def resolve_mac(root: str, mac: str, follow_last: bool = True) -> str:
    """Resolve a Mac path inside the sim, following symlinks the way a Mac would.

    Absolute link texts are Mac paths (re-rooted under ``root``); relative ones are relative to the
    link's directory. Returns the resolved *Mac* path.
    """
    parts = [p for p in posixpath.normpath("/" + mac).split("/") if p]
    done: list[str] = []
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            if done:
                done.pop()
            continue
        if name == ".":
            continue
        cur = "/" + "/".join(done + [name])
        hp = host_path(root, cur)
        if (parts or follow_last) and os.path.islink(hp):
            hops += 1
            if hops > 32:
                raise OSError(40, "Too many levels of symbolic links", cur)
            text = os.readlink(hp)
            if text.startswith("/"):
                done = []
            parts = [p for p in text.split("/") if p] + parts
            continue
        done.append(name)
    return "/" + "/".join(done)


def resolve_host(root: str, mac: str) -> str:
    return host_path(root, resolve_mac(root, mac))


# --------------------------------------------------------------------------- state


def load_state(root) -> dict:
    return load_json(os.path.join(os.fspath(root), STATE_REL))


def save_state(root, state: dict) -> None:
    write_atomic(os.path.join(os.fspath(root), STATE_REL), dump_json(state), 0o644)


# --------------------------------------------------------------------------- users


def load_users(root: str) -> list[dict]:
    """Every record of the local users database: dicts with name, uid (int), home, shell, realname."""
    import plistlib

    d = host_path(root, USERS_DB)
    out: list[dict] = []
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return out
    for fn in names:
        if not fn.endswith(".plist"):
            continue
        try:
            with open(os.path.join(d, fn), "rb") as f:
                rec = plistlib.load(f)
        except Exception:
            continue
        out.append(record_to_user(rec))
    return out


def _string_arrays_plist(data: bytes) -> dict | None:
    """A user record plist (a dict of arrays of strings, as dslocal keeps them) read with expat alone;
    None for anything else (the caller then uses plistlib, whose imports cost each fake call ~10 ms)."""
    import pyexpat

    rec: dict = {}
    stack: list[str] = []
    text: list[str] = []
    key = None
    ok = True

    def start(tag, attrs):
        nonlocal ok
        stack.append(tag)
        text.clear()
        if tag not in ("plist", "dict", "key", "array", "string"):
            ok = False

    def end(tag):
        nonlocal key
        value = "".join(text)
        stack.pop()
        if tag == "key":
            key = value
            rec[key] = []
        elif tag == "string" and key is not None and stack[-1:] == ["array"]:
            rec[key].append(value)

    parser = pyexpat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError:
        return None
    return rec if ok else None


def load_user_file(root: str, name: str) -> dict | None:
    """The record in ``users/<name>.plist`` when that file holds user ``name`` (a fast path: one file, not all)."""
    if "/" in name or name.startswith("."):
        return None
    try:
        with open(os.path.join(host_path(root, USERS_DB), name + ".plist"), "rb") as f:
            data = f.read()
        rec = _string_arrays_plist(data)
        if rec is None:
            import plistlib

            rec = plistlib.loads(data)
        user = record_to_user(rec)
    except Exception:
        return None
    return user if user["name"] == name else None


def record_to_user(rec: dict) -> dict:
    def first(key, default=None):
        v = rec.get(key)
        return v[0] if isinstance(v, list) and v else default

    try:
        uid = int(first("uid", "-1"))
    except ValueError:
        uid = -1
    return {
        "name": first("name", ""),
        "uid": uid,
        "gid": first("gid", "20"),
        "home": first("home", ""),
        "shell": first("shell", "/bin/zsh"),
        "realname": first("realname", ""),
        "generateduid": first("generateduid", ""),
        "record": rec,
    }


def user_by_name(users: list[dict], name: str) -> dict | None:
    for u in users:
        if u["name"] == name:
            return u
    return None


def user_by_uid(users: list[dict], uid: int) -> dict | None:
    for u in users:
        if u["uid"] == uid:
            return u
    return None


# --------------------------------------------------------------------------- keychains


def load_keychain(path: str) -> dict:
    return load_json(path)


def save_keychain(path: str, kc: dict) -> None:
    write_atomic(path, dump_json(kc), 0o600)


# --------------------------------------------------------------------------- DER (X.501 names)


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + der_len(len(body)) + body


def der_name(cn: str) -> bytes:
    """DER of Name ::= SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String cn } } }."""
    atv = der(0x30, der(0x06, b"\x55\x04\x03") + der(0x0C, cn.encode()))
    return der(0x30, der(0x31, atv))


# --------------------------------------------------------------------------- fakes on disk


def project_dir() -> str:
    """The directory that holds the ``cleanup`` package (put on sys.path by the fake scripts)."""
    here = os.path.dirname(os.path.abspath(__file__))  # .../cleanup/lab/simmac
    return os.path.dirname(os.path.dirname(os.path.dirname(here)))


def fake_script(tool: str, root: str) -> bytes:
    launcher = os.environ.get("SIMMAC_FAKE_LAUNCHER")  # fakeserver: the same script, run by a fork server
    shebang = launcher if launcher and os.access(launcher, os.X_OK) else f"{sys.executable} -S"
    return (
        f"#!{shebang}\n"
        f"import sys; sys.path.insert(0, {project_dir()!r}); "
        f"from cleanup.lab.simmac.fakes import main; main({tool!r}, {os.path.abspath(root)!r})\n"
    ).encode()


def install_fake(root: str, tool: str, mac: str) -> None:
    hp = host_path(root, mac)
    os.makedirs(os.path.dirname(hp), exist_ok=True)
    write_atomic(hp, fake_script(tool, root), 0o755)


def _plist(obj) -> bytes:
    import plistlib

    return plistlib.dumps(obj, sort_keys=True)


def launchd_plist(label: str, program: list[str]) -> bytes:
    return _plist({"Label": label, "ProgramArguments": program, "RunAtLoad": True})


def install_self_service(root: str) -> None:
    app = host_path(root, "/Applications/Self Service.app/Contents")
    os.makedirs(os.path.join(app, "MacOS"), exist_ok=True)
    write_atomic(
        os.path.join(app, "Info.plist"), _plist({"CFBundleIdentifier": "com.jamfsoftware.selfservice.mac", "CFBundleShortVersionString": "11.10.1"}), 0o644
    )
    write_atomic(os.path.join(app, "MacOS", "Self Service"), b"#!/bin/sh\nexit 0\n", 0o755)


def install_jamf_framework(root: str) -> None:
    """Install the Jamf management framework (binary, link, support folder, launchd jobs).

    Used by the builder and by a (re-)enrollment (``profiles renew``, the enrollment URL).
    Does not touch the package receipts or the state.
    """
    install_fake(root, "jamf", JAMF_BIN)
    link = host_path(root, JAMF_LINK)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(JAMF_BIN, link)  # absolute Mac path as link text, as on a Mac
    sup = host_path(root, JAMF_SUPPORT)
    files = {
        JAMF_CA_BIN: (fake_script("jamfaad", root), 0o755),
        JAMF_CA_BIN_UPPER: (fake_script("jamfaad", root), 0o755),
        JAMF_HELPER: (fake_script("jamfHelper", root), 0o755),
        JAMF_CA_APP + "/Contents/Info.plist": (
            _plist({"CFBundleIdentifier": "com.jamf.management.Jamf-Conditional-Access", "CFBundleShortVersionString": "2.1.0"}),
            0o644,
        ),
        JAMF_SUPPORT + "/Jamf.app/Contents/Info.plist": (
            _plist({"CFBundleIdentifier": "com.jamf.management.Jamf", "CFBundleShortVersionString": "11.10.1"}),
            0o644,
        ),
        JAMF_SUPPORT + "/ManagementFrameworkScripts/StartupScript.sh": (b"#!/bin/sh\nexit 0\n", 0o755),
        JAMF_SUPPORT + "/Receipts/.keep": (b"", 0o644),
    }
    for mac, (data, mode) in files.items():
        hp = host_path(root, mac)
        os.makedirs(os.path.dirname(hp), exist_ok=True)
        write_atomic(hp, data, mode)
    assert os.path.isdir(sup)
    ld = host_path(root, "/Library/LaunchDaemons")
    la = host_path(root, "/Library/LaunchAgents")
    os.makedirs(ld, exist_ok=True)
    os.makedirs(la, exist_ok=True)
    for fn in JAMF_DAEMONS:
        label = fn[: -len(".plist")]
        write_atomic(os.path.join(ld, fn), launchd_plist(label, [JAMF_BIN, "launchDaemon"]), 0o644)
    for fn in JAMF_AGENTS:
        label = fn[: -len(".plist")]
        write_atomic(os.path.join(la, fn), launchd_plist(label, [JAMF_BIN, "agent"]), 0o644)
