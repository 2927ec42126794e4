"""Build a simulated Mac in a directory: ``create_sim_mac(root, users, scenario, logged_out)``.

Everything is deterministic (fixed timestamps, hashes of seed strings): two builds of the same scenario
in two directories give identical trees (apart from the absolute DIR written into the fake scripts).
"""

from __future__ import annotations

import hashlib
import os
import plistlib
import re
import uuid
from pathlib import Path
from typing import Any

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac import sso_model

SCENARIOS = (
    "default",
    "clean",
    "no-jamf",
    "non-removable-mdm",
    "unsafe-username",
    "secure-enclave",
    "cause4-log",
    "cause5-log",
    "device-compliance",
    "platform-sso",
)  # cause4/5-log: "default" plus a Company Portal log with that cause's line; the 2026 models: see sso_model

USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
SERIAL = "C02ZK1ABMD6M"
COMPUTER_NAME = "MBP-ALICE"
BOOTTIME = 1764130000
JAMF_URL = "https://example.jamfcloud.com"
MDM_SERVER = JAMF_URL + "/mdm/ServerURL"
CDAT = "20250608160530Z"
TOKEN_TS = 1749398730
TRAP_DIR = "/System/Library/Trap"
UPN_DOMAIN = "example.com"

#: the article's step-6 items, relative to a Library folder; (kind, relpath)
ARTICLE_SYSTEM = (
    ("file", "Application Support/com.microsoft.CompanyPortal.usercontext.info"),
    ("dir", "Application Support/com.microsoft.CompanyPortal"),
    ("dir", "Application Support/com.jamfsoftware.selfservice.mac"),
    ("plist", "Preferences/com.microsoft.CompanyPortal.plist"),
    ("plist", "Preferences/com.jamfsoftware.selfservice.mac.plist"),
    ("plist", "Preferences/com.jamfsoftware.management.jamfAAD.plist"),
)
ARTICLE_USER_ONLY = (
    ("dir", "Saved Application State/com.jamfsoftware.selfservice.mac.savedState"),
    ("dir", "Saved Application State/com.microsoft.CompanyPortal.savedState"),
    ("file", "Cookies/com.microsoft.CompanyPortal.binarycookies"),
    ("file", "Cookies/com.jamf.management.jamfAAD.binarycookies"),
)
HOME_LIBRARY_DIRS = (
    "Application Support",
    "Preferences",
    "Saved Application State",
    "Cookies",
    "Keychains",
    "Caches",
)

DEFAULT_PKGS = [
    "com.apple.pkg.MobileAssets",
    "com.apple.pkg.XProtectPlistConfigData_10_15.16U4353",
    "com.jamfsoftware.jamf",
    "com.microsoft.CompanyPortalMac",
]
SYSTEM_USERS = (
    # name, uid, home, shell, realname
    ("root", 0, "/var/root", "/bin/sh", "System Administrator"),
    ("daemon", 1, "/var/root", "/usr/bin/false", "System Services"),
    ("_www", 70, "/Library/WebServer", "/usr/bin/false", "World Wide Web Server"),
    ("nobody", -2, "/var/empty", "/usr/bin/false", "Unprivileged User"),
)


# --------------------------------------------------------------------------- deterministic values


def _hex(seed: str, algo: str = "sha1") -> str:
    return hashlib.new(algo, seed.encode()).hexdigest().upper()


def device_id_for(serial: str, user: str) -> str:
    return str(uuid.UUID(hex=hashlib.sha256(f"deviceid:{serial}:{user}".encode()).hexdigest()[:32], version=4))


def _cert(cn: str, issuer: str, seed: str) -> dict:
    return {
        "class": "cert",
        "labl": cn,
        "alis": cn,
        "subject_cn": cn,
        "issuer_cn": issuer,
        "sha1": _hex("sha1:" + seed),
        "sha256": _hex("sha256:" + seed, "sha256"),
        "hpky": _hex("hpky:" + seed),
        "snbr": _hex("snbr:" + seed)[:32],
    }


def _key(kind: str, label: str, klbl: str) -> dict:
    return {"class": "key", "key_kind": kind, "labl": label, "klbl": klbl}


def _genp(name: str, password: str = "", acct: str | None = None, labl: str | None = None, desc: str | None = None) -> dict:
    return {
        "class": "genp",
        "acct": name if acct is None else acct,
        "svce": name,
        "labl": name if labl is None else labl,
        "cdat": CDAT,
        "mdat": CDAT,
        "desc": desc,
        "password": password,
    }


def _inet(srvr: str, acct: str, path: str = "", password: str = "") -> dict:
    return {
        "class": "inet",
        "srvr": srvr,
        "acct": acct,
        "ptcl": "htps",
        "path": path,
        "port": 0,
        "labl": srvr,
        "cdat": CDAT,
        "mdat": CDAT,
        "desc": None,
        "password": password,
    }


def _unrelated_login(user: str) -> list[dict]:
    return [
        _genp("AirPort", "corp-wifi-secret", acct="CorpWiFi", labl="CorpWiFi", desc="AirPort network password"),
        _genp("Slack Safe Storage", "c2xhY2s=", acct="Slack Key", desc="application password"),
        _genp("Chrome Safe Storage", "Y2hyb21l", acct="Chrome", desc="application password"),
        _genp("Fortune Teller", "crystal-ball", acct="fortune", desc="application password"),
        _genp("com.apple.account.IdentityServices.token", "aids-token", acct=f"{user}@icloud.com"),
    ]


def _jamf_keys(seed: str) -> list[dict]:
    klbl = _hex("jamfkey:" + seed)
    return [_key("private", "JAMF", klbl), _key("public", "JAMF", klbl)]


def _ms_login_items(user: str, device_id: str, secure_enclave: bool) -> tuple[list[dict], dict]:
    upn = f"{user}@{UPN_DOMAIN}"
    wpj = _cert(device_id, "MS-ORGANIZATION-ACCESS", f"wpj:{user}:{device_id}")
    stk = _hex(f"stk:{user}:{device_id}")
    dl = _cert("DeviceLogin.microsoft.com", "MS-Organization-P2P-Access [2025]", f"devicelogin:{user}")
    items = [
        _genp("com.microsoft.workplacejoin.thumbprint", wpj["sha1"]),
        _genp("com.microsoft.workplacejoin.registeredUserPrincipalName", upn),
        _genp("com.microsoft.CompanyPortal", "cp-secret"),
        _genp("com.microsoft.CompanyPortal.HockeySDK", "hockey"),
        _genp("com.microsoft.CompanyPortalMac.usercontext", upn),
        _genp("enterpriseregistration.windows.net", "drs-token"),
        _genp("https://device.login.microsoftonline.com", "prt-1"),
        _genp("https://device.login.microsoftonline.com/", "prt-2"),
        _genp("com.microsoft.workplacejoin.deviceName", COMPUTER_NAME),
        _genp("com.jamf.management.jamfAAD", "aad-token", acct=upn),
        _genp("Microsoft Office Identities Cache 2", "office-cache", acct="MicrosoftOfficeIdentitiesCache"),
        _inet("login.microsoftonline.com", upn, "/common/oauth2/token", "web-token"),
        _inet("enterpriseregistration.windows.net", upn, "/EnrollmentServer/device/", "drs-token"),
        wpj,
    ]
    if not secure_enclave:
        items += [_key("private", "Microsoft Workplace Join Key", wpj["hpky"]), _key("public", "Microsoft Workplace Join Key", wpj["hpky"])]
    items += [
        _key("private", "Microsoft Session Transport Key", stk),
        _key("public", "Microsoft Session Transport Key", stk),
        dl,
    ]
    prefs = {"https://enterpriseregistration.windows.net": wpj["sha1"], "https://enterpriseregistration.windows.net/": wpj["sha1"]}
    return items, prefs


def _ms_user_data(user: str) -> list[dict]:
    """Microsoft items that are the user's own data, not the registration's: a literal "delete everything
    Microsoft" would take them (integration reference, section 5)."""
    upn = f"{user}@{UPN_DOMAIN}"
    cn = f"{user.replace('_', ' ').title()} Microsoft Admin"
    own = _cert(cn, "Contoso Issuing CA 01", f"own:{user}")
    return [
        _genp("Microsoft Edge Safe Storage", "ZWRnZS1vc2NyeXB0", acct="Microsoft Edge"),
        _genp("Microsoft Teams Safe Storage", "dGVhbXMtb3NjcnlwdA==", acct="Microsoft Teams"),
        _genp("com.microsoft.teams", "teams-token", acct=upn),
        _genp("com.helpshift.data_com.microsoft.Outlook", "outlook-helpshift", acct="com.helpshift.data_com.microsoft.Outlook"),
        _genp("MicrosoftOfficeRMSCredential", "rms-credential", acct=upn),
        _genp("com.microsoft.onedrive.cookies", "onedrive-cookies", acct="cookies"),
        own,
        _key("private", cn, own["hpky"]),
    ]


def _keychain(owner: str, items: list[dict], prefs: dict | None = None) -> bytes:
    return C.dump_json({"format": C.KEYCHAIN_FORMAT, "owner": owner, "items": items, "identity_preferences": prefs or {}})


#: Company Portal's log folder in each home, and the lines of the article's Causes 4 and 5
PORTAL_LOGS = "Library/Logs/Company Portal"
PORTAL_LOG_NAME = "com.microsoft.CompanyPortalMac 2025-06-08--16-05-30-512.log"
_PORTAL_LINE = "2025-06-08 16:05:{s} 10.0.0.20 {level} com.microsoft.ssp.application TID=1  {text}\n"
PORTAL_LOG_LINES = {
    "cause4-log": "WelcomeViewController.swift: 253 (startLogin()) Portal launched without WPJ only arg while account is under partner management",
    "cause5-log": "AppDelegate.swift: 412 (handleLaunchArguments()) Invalid command line input. Registration-only "
    "command line flag (-r) can only be used when partner management is enabled in Intune. Please "
    "contact your IT admin.",
}


def _portal_log(scenario: str) -> str:
    """A short Company Portal log whose last line is the scenario's symptom."""
    return _PORTAL_LINE.format(
        s="30:512", level="INFO", text="AppDelegate.swift: 88 (applicationDidFinishLaunching(_:)) Company Portal 5.2504.0 (build 5.2504.0.12) launched"
    ) + _PORTAL_LINE.format(s="31:204", level="INFO" if scenario == "cause4-log" else "ERROR", text=PORTAL_LOG_LINES[scenario])


# --------------------------------------------------------------------------- writing helpers


class _Writer:
    def __init__(self, root: str):
        self.root = root
        self._dirs: set[str] = set()

    def hp(self, mac: str) -> str:
        return os.path.join(self.root, mac.lstrip("/"))

    def mkdir(self, mac: str) -> str:
        p = self.hp(mac)
        if p not in self._dirs:
            os.makedirs(p, exist_ok=True)
            self._dirs.add(p)
        return p

    def file(self, mac: str, data: bytes | str, mode: int = 0o644) -> None:
        if isinstance(data, str):
            data = data.encode()
        p = self.hp(mac)
        self.mkdir(os.path.dirname(mac))
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)

    def link(self, mac: str, text: str) -> None:
        self.mkdir(os.path.dirname(mac))
        os.symlink(text, self.hp(mac))


def _plist(obj) -> bytes:
    return plistlib.dumps(obj, sort_keys=True)


def _article_item(w: _Writer, lib: str, kind: str, rel: str, who: str) -> None:
    mac = f"{lib}/{rel}"
    if kind == "dir":
        w.mkdir(mac)
        w.file(mac + "/data.json", f'{{"owner": "{who}", "item": "{rel}"}}\n')
        if "savedState" in rel:
            w.file(mac + "/windows.plist", _plist({"NSWindows": [who]}))
        else:
            w.file(mac + "/Logs/app.log", f"log of {who}\n")
    elif kind == "plist":
        w.file(mac, _plist({"owner": who, "item": rel}))
    else:
        w.file(mac, f"{rel} of {who}\n")


def _user_record(name: str, uid: int, home: str, shell: str, realname: str, gid: int = 20) -> bytes:
    return _plist(
        {
            "name": [name],
            "uid": [str(uid)],
            "gid": [str(gid)],
            "home": [home],
            "shell": [shell],
            "realname": [realname],
            "generateduid": [str(uuid.UUID(hex=hashlib.md5(f"guid:{name}:{uid}".encode()).hexdigest())).upper()],
        }
    )


# --------------------------------------------------------------------------- the builder


def create_sim_mac(
    root,
    users: list[str] | None = None,
    scenario: str = "default",
    logged_out: list[str] | None = None,
    serial: str = SERIAL,
    computer_name: str = COMPUTER_NAME,
    swift_dialog: bool = False,
) -> dict:
    """Build a simulated Mac in ``root`` (absent or empty) and return a summary of what was built.

    ``users``: local user names (default ``["alice", "bob"]``); UIDs 501, 502, ... in order; the first is
    the console user. Every user is logged in except those in ``logged_out`` (default: ``["bob"]`` when
    the default users are used, else nobody). A logged-out user's login keychain is locked; when the
    first user is logged out, nobody is at the console. ``swift_dialog``: swiftDialog is installed
    (``/usr/local/bin/dialog``), so notifications use it before jamfHelper and osascript.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if users is None:
        users = ["alice", "bob"]
        if logged_out is None:
            logged_out = ["bob"]
    users = list(users)
    logged_out = list(logged_out or [])
    for u in users:
        if not isinstance(u, str) or not USER_RE.match(u) or u in {s[0] for s in SYSTEM_USERS}:
            raise ValueError(f"invalid user name {u!r} (must match {USER_RE.pattern} and not be a system user)")
    if len(set(users)) != len(users):
        raise ValueError("duplicate user names")
    for u in logged_out:
        if u not in users:
            raise ValueError(f"logged_out names an unknown user {u!r}")
    rootp = Path(root)
    if rootp.exists() and (not rootp.is_dir() or any(rootp.iterdir())):
        raise ValueError(f"{root} must be absent or an empty directory")
    rootp.mkdir(parents=True, exist_ok=True)
    r = str(rootp.resolve())
    w = _Writer(r)

    has_jamf = scenario != "no-jamf"
    has_ms = scenario != "clean"
    secure_enclave = scenario == "secure-enclave"
    logged_in = [u for u in users if u not in logged_out]
    console = users[0] if users and users[0] in logged_in else None

    # -- state
    pkgs = [p for p in DEFAULT_PKGS if (has_jamf or not p.startswith("com.jamfsoftware")) and (has_ms or p != "com.microsoft.CompanyPortalMac")]
    state: dict[str, Any] = {
        "format": C.STATE_FORMAT,
        "serial": serial,
        "computer_name": computer_name,
        "os_version": "15.5",
        "build": "24F74",
        "boottime": BOOTTIME,
        "console_user": console,
        "logged_in": logged_in,
        "caller_uid": 0,
        "running_apps": ["Company Portal"] if has_ms else [],
        "pkgs": pkgs,
        "mdm": {
            "enrolled": has_jamf,
            "dep": has_jamf,
            "user_approved": has_jamf,
            "server": MDM_SERVER,
            "removable": scenario != "non-removable-mdm",
        },
        "jamf_url": JAMF_URL,
        "opened_urls": [],
        "policies_run": [],
        "recons": 0,
    }
    state.update(sso_model.state_for(scenario, serial, users))
    w.mkdir("/" + C.LAB_DIR)
    C.save_state(r, state)

    # -- fake tools
    for tool, mac in C.FAKE_TOOLS.items():
        w.mkdir(os.path.dirname(mac))
        w.file(mac, C.fake_script(tool, r), 0o755)
    if has_jamf:
        C.install_jamf_framework(r)
    if swift_dialog:
        w.file(C.SWIFT_DIALOG, C.fake_script("dialog", r), 0o755)

    # -- users database
    w.mkdir(C.USERS_DB)
    for name, uid, home, shell, realname in SYSTEM_USERS:
        w.file(f"{C.USERS_DB}/{name}.plist", _user_record(name, uid, home, shell, realname, gid=0 if uid == 0 else uid), 0o600)
    for i, u in enumerate(users):
        w.file(f"{C.USERS_DB}/{u}.plist", _user_record(u, 501 + i, f"/Users/{u}", "/bin/zsh", u.replace("_", " ").title()), 0o600)
    if scenario == "unsafe-username":
        w.file(f"{C.USERS_DB}/evil.plist", _user_record("../root", 503, "/Users/../root", "/bin/zsh", "Evil"), 0o600)

    # -- system Library
    for d in ("Application Support", "Preferences", "Keychains", "LaunchDaemons", "LaunchAgents", "Caches"):
        w.mkdir("/Library/" + d)
    w.file("/Library/Application Support/cleanup/mac.lock", b"", 0o600)  # cleanup is installed: its run lock, unheld
    w.file("/Library/Preferences/com.apple.loginwindow.plist", _plist({"lastUserName": console or ""}))
    w.file("/Library/Preferences/com.microsoft.autoupdate2.plist", _plist({"HowToCheck": "AutomaticDownload"}))
    w.file("/Library/LaunchDaemons/com.example.backup.plist", C.launchd_plist("com.example.backup", ["/usr/local/bin/backup", "--daily"]))
    w.mkdir("/var/root")
    w.mkdir("/Users/Shared")
    w.mkdir(TRAP_DIR)
    w.file(TRAP_DIR + "/README", "This directory must survive any reset.\n")
    w.file(TRAP_DIR + "/Logs/important.log", "system log\n")
    if has_ms:
        for kind, rel in ARTICLE_SYSTEM:
            _article_item(w, "/Library", kind, rel, "system")

    system_items = [
        _genp("AirPort", "corp-wifi-secret", acct="CorpWiFi", labl="CorpWiFi", desc="AirPort network password"),
        *_jamf_keys("system"),
        _cert("Apple Root CA", "Apple Root CA", "appleroot"),
    ]
    if has_ms:
        system_items += [
            _genp("com.microsoft.CompanyPortal", "system-cp", acct="com.microsoft.CompanyPortal.system"),
            _cert("DeviceLogin.microsoft.com", "MS-Organization-P2P-Access [2025]", "devicelogin:system"),
        ]
    w.file(C.SYSTEM_KEYCHAIN, _keychain("root", system_items), 0o600)

    # -- apps
    app = "/Applications/Safari.app/Contents"
    w.file(app + "/Info.plist", _plist({"CFBundleIdentifier": "com.apple.Safari", "CFBundleShortVersionString": "18.5"}))
    w.file(app + "/MacOS/Safari", "#!/bin/sh\nexit 0\n", 0o755)
    if has_ms:
        app = "/Applications/Company Portal.app/Contents"
        w.file(app + "/Info.plist", _plist({"CFBundleIdentifier": "com.microsoft.CompanyPortalMac", "CFBundleShortVersionString": "5.2504.0"}))
        w.file(app + "/MacOS/Company Portal", "#!/bin/sh\nexit 0\n", 0o755)
        w.file(app + "/Resources/en.lproj/Localizable.strings", '"Sign in" = "Sign in";\n')
    if has_jamf:
        C.install_self_service(r)

    # -- homes
    device_ids: dict[str, str] = {}
    wpj_sha1: dict[str, str] = {}
    unrelated_prefs = {
        "com.apple.finder.plist": _plist({"ShowPathbar": True}),
        "com.microsoft.Word.plist": _plist({"kSubUIAppCompletedFirstRunSetup1507": True}),
    }
    for i, u in enumerate(users):
        home = f"/Users/{u}"
        lib = home + "/Library"
        for d in HOME_LIBRARY_DIRS:
            w.mkdir(f"{lib}/{d}")
        w.file(f"{home}/Documents/notes.txt", f"notes of {u}\n")
        if i == 0:
            w.file(f"{home}/Documents/payroll.xlsx", b"PK\x03\x04 payroll - must survive\n")
        for fn, data in unrelated_prefs.items():
            w.file(f"{lib}/Preferences/{fn}", data)
        items = _unrelated_login(u)
        prefs: dict[str, str] = {}
        if i == 0:
            items += _jamf_keys("user:" + u)
            items.append(_cert("Apple Root CA", "Apple Root CA", "appleroot"))
        if has_ms and scenario == "platform-sso":
            ms, prefs = sso_model.psso_login_items(_genp, f"{u}@{UPN_DOMAIN}"), {}  # the registration is in the Secure Enclave
        elif has_ms:
            did = device_id_for(serial, u)
            device_ids[u] = did
            ms, prefs = _ms_login_items(u, did, secure_enclave)
            wpj_sha1[u] = prefs["https://enterpriseregistration.windows.net"]
        if has_ms:
            items = ms + _ms_user_data(u) + items
            w.file(f"{lib}/Preferences/com.jamf.management.jamfAAD.plist", _plist({"have_an_Azure_id": True, "last_aad_token_timestamp": TOKEN_TS}))
            traps = set()
            if i == 0:
                # the first user's Company Portal support dir is a relative link to a system dir
                w.link(f"{lib}/Application Support/com.microsoft.CompanyPortal", "../../../.." + TRAP_DIR)
                traps.add("Application Support/com.microsoft.CompanyPortal")
            if i == 1:
                # the second user's cookie file is a relative link to another user's document
                w.link(f"{lib}/Cookies/com.microsoft.CompanyPortal.binarycookies", f"../../../{users[0]}/Documents/payroll.xlsx")
                traps.add("Cookies/com.microsoft.CompanyPortal.binarycookies")
            if i == 2:
                # a parent-link trap: the whole Saved Application State folder is a link elsewhere
                os.rmdir(w.hp(f"{lib}/Saved Application State"))
                target = f"/Users/Shared/SavedState-{u}"
                w.mkdir(target)
                w.link(f"{lib}/Saved Application State", f"../../Shared/SavedState-{u}")
                for kind, rel in ARTICLE_USER_ONLY:
                    if rel.startswith("Saved Application State/"):
                        _article_item(w, "/Users/Shared", kind, f"SavedState-{u}/" + rel.split("/", 1)[1], "shared")
                w.file(target + "/com.apple.Terminal.savedState/windows.plist", _plist({"NSWindows": []}))
                traps.update(rel for _, rel in ARTICLE_USER_ONLY if rel.startswith("Saved Application State/"))
            for kind, rel in ARTICLE_SYSTEM + ARTICLE_USER_ONLY:
                if rel not in traps:
                    _article_item(w, lib, kind, rel, u)
        w.file(f"{lib}/Keychains/login.keychain-db", _keychain(u, items, prefs), 0o600)
        if i == 0 and scenario in PORTAL_LOG_LINES:
            w.file(f"{home}/{PORTAL_LOGS}/{PORTAL_LOG_NAME}", _portal_log(scenario))
    models = sso_model.install(w, scenario, serial, users, has_jamf, JAMF_URL)
    device_ids.update(models.pop("device_ids", {}))

    return {
        "root": r,
        "scenario": scenario,
        "serial": serial,
        "computer_name": computer_name,
        "users": users,
        "uids": {u: 501 + i for i, u in enumerate(users)},
        "console_user": console,
        "logged_in": logged_in,
        "logged_out": logged_out,
        "device_ids": device_ids,
        "wpj_sha1": wpj_sha1,
        "jamf_url": JAMF_URL,
        "mdm": dict(state["mdm"]),
        "boottime": BOOTTIME,
        **models,
    }
