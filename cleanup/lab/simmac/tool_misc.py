"""The small fakes: pkgutil, killall, sysctl, shutdown, dscl, stat, id, sw_vers, ioreg, scutil."""

from __future__ import annotations

import os

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac.fakes import Ctx, Fail, err, out, usage

# --------------------------------------------------------------------------- pkgutil, killall


PKG_INFO = {"com.microsoft.CompanyPortalMac": ("5.2504.0", "Applications"), "com.jamfsoftware.jamf": ("11.10.1", "")}


def t_pkgutil(ctx: Ctx, argv: list[str]):
    use = "usage: pkgutil --pkgs | --pkg-info <package-id> | --forget <package-id>"
    if argv == ["--pkgs"]:
        for p in ctx.state["pkgs"]:
            out(p)
        return 0
    if len(argv) == 2 and argv[0] in ("--pkg-info", "--forget"):
        pid = argv[1]
        if argv[0] == "--forget":
            if not ctx.is_root:
                raise Fail(1, "Must be run as root")
            ctx.lock()
        if pid not in ctx.state["pkgs"]:
            raise Fail(1, f"No receipt for '{pid}' found at '/'.")
        if argv[0] == "--pkg-info":
            version, loc = PKG_INFO.get(pid, ("1.0.0.0.1", ""))
            out(f"package-id: {pid}")
            out(f"version: {version}")
            out("volume: /")
            out(f"location: {loc}")
            out("install-time: 1749398730")
            return 0
        ctx.state["pkgs"].remove(pid)
        ctx.save()
        out(f"Forgot package '{pid}' on '/'.")
        return 0
    usage(use)


def t_killall(ctx: Ctx, argv: list[str]):
    use = "usage: killall [-s] [-SIGNAL] [-u user] procname ..."
    names = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-u" and i + 1 < len(argv):
            i += 2
            continue
        if a.startswith("-") and len(a) > 1:
            i += 1
            continue
        names.append(a)
        i += 1
    if not names:
        usage(use)
    ctx.lock()
    running = ctx.state["running_apps"]
    hit = [n for n in names if n in running]
    if not hit:
        raise Fail(1, "No matching processes belonging to you were found")
    ctx.state["running_apps"] = [n for n in running if n not in hit]
    ctx.save()
    return 0


# --------------------------------------------------------------------------- sysctl, shutdown


def _boottime(sec: int) -> str:
    import time

    return f"{{ sec = {sec}, usec = 0 }} {time.asctime(time.gmtime(sec))}"


def t_sysctl(ctx: Ctx, argv: list[str]):
    values = {
        "kern.boottime": lambda: _boottime(int(ctx.state["boottime"])),
        "kern.hostname": lambda: ctx.state["computer_name"],
        "kern.osproductversion": lambda: ctx.state["os_version"],
        "kern.osversion": lambda: ctx.state["build"],
        "hw.model": lambda: "MacBookPro18,3",
    }
    n = False
    names = []
    for a in argv:
        if a == "-n":
            n = True
        elif a.startswith("-"):
            usage("usage: sysctl [-n] name ...")
        else:
            names.append(a)
    if not names:
        usage("usage: sysctl [-n] name ...")
    rc = 0
    for name in names:
        if name not in values:
            err(f"sysctl: unknown oid '{name}'")
            rc = 1
            continue
        v = values[name]()
        out(v if n else f"{name}: {v}")
    return rc


def t_shutdown(ctx: Ctx, argv: list[str]):
    if len(argv) != 2 or argv[0] not in ("-r", "-h") or argv[1] != "now":
        usage("usage: shutdown [-h | -r] now")
    if not ctx.is_root:
        raise Fail(1, "shutdown: NOT super-user")
    import time

    ctx.lock()
    st = ctx.state
    st["boottime"] = max(int(time.time()), int(st["boottime"]) + 1) + 1
    st["running_apps"] = []
    ctx.save()
    out("Shutdown NOW!")
    return 0


# --------------------------------------------------------------------------- dscl, stat, id


DS_ATTRS = {
    "RecordName": "name",
    "UniqueID": "uid",
    "PrimaryGroupID": "gid",
    "NFSHomeDirectory": "home",
    "UserShell": "shell",
    "RealName": "realname",
    "GeneratedUID": "generateduid",
}
DS_NOT_FOUND = "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)"


def t_dscl(ctx: Ctx, argv: list[str]):
    use = "usage: dscl . -list /Users [attribute] | dscl . -read /Users/<name> [attribute ...]"
    if len(argv) < 3 or argv[0] not in (".", "/Local/Default", "localhost"):
        usage(use)
    verb, path, rest = argv[1], argv[2], argv[3:]
    users = ctx.users
    if verb == "-list":
        if path.rstrip("/") != "/Users" or len(rest) > 1:
            if len(rest) > 1:
                usage(use)
            raise Fail(56, DS_NOT_FOUND)
        recs = sorted(users, key=lambda u: u["name"])
        if not rest:
            for u in recs:
                out(u["name"])
            return 0
        key = DS_ATTRS.get(rest[0])
        width = max([len(u["name"]) for u in recs] + [23]) + 1
        for u in recs:
            v = u.get(key) if key else None
            if v is None or v == "":
                continue
            out(f"{u['name']:<{width}}{v}")
        return 0
    if verb == "-read":
        if not path.startswith("/Users/"):
            raise Fail(56, DS_NOT_FOUND)
        rec = C.user_by_name(users, path[len("/Users/") :])
        if rec is None:
            raise Fail(56, DS_NOT_FOUND)
        keys = rest or sorted(DS_ATTRS)
        for k in keys:
            key = DS_ATTRS.get(k)
            v = rec.get(key) if key else None
            if v is None or v == "":
                if rest:
                    err(f"No such key: {k}")
                continue
            v = str(v)
            if " " in v:
                out(f"{k}:")
                out(f" {v}")
            else:
                out(f"{k}: {v}")
        return 0
    usage(use)


def _path_owner(ctx: Ctx, mac: str) -> int:
    import posixpath

    parts = posixpath.normpath(mac).split("/")
    if len(parts) > 2 and parts[1] == "Users":
        u = C.user_by_name(ctx.users, parts[2])
        if u:
            return u["uid"]
    return 0


def t_stat(ctx: Ctx, argv: list[str]):
    use = "usage: stat [-L] [-f format] file ..."
    fmt = None
    follow = False
    paths = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-f" and i + 1 < len(argv):
            fmt = argv[i + 1]
            i += 2
        elif a == "-L":
            follow = True
            i += 1
        elif a.startswith("-"):
            usage(use)
        else:
            paths.append(a)
            i += 1
    if not paths or fmt is None:
        usage(use)
    rc = 0
    for p in paths:
        mac = p if p.startswith("/") else "/" + p
        if mac == "/dev/console":
            cu = ctx.state.get("console_user")
            u = C.user_by_name(ctx.users, cu) if cu else None
            uid, size, mode, gid = (u["uid"] if u else 0), 0, 0o20600, 0
        else:
            hp = C.resolve_host(ctx.root, mac) if follow else C.host_path(ctx.root, C.resolve_mac(ctx.root, mac, False))
            try:
                st = os.stat(hp) if follow else os.lstat(hp)
            except OSError:
                err(f"stat: {p}: stat: No such file or directory")
                rc = 1
                continue
            uid, size, mode, gid = _path_owner(ctx, mac), st.st_size, st.st_mode, 0 if _path_owner(ctx, mac) == 0 else 20
        out(_stat_line(ctx, fmt, p, uid, size, mode, gid))
    return rc


def _stat_line(ctx: Ctx, fmt: str, p: str, uid: int, size: int, mode: int, gid: int) -> str:
    """``fmt`` with stat's %u %g %z %p %N (and %Su %Sg) filled in for one file."""
    import re

    def name_of(uid):
        u = C.user_by_uid(ctx.users, uid)
        return u["name"] if u else str(uid)

    def sub(m):
        s, c = m.group(1), m.group(2)
        if c == "u":
            return name_of(uid) if s else str(uid)
        if c == "g":
            return ({0: "wheel", 20: "staff"}.get(gid, str(gid))) if s else str(gid)
        if c == "z":
            return str(size)
        if c == "p":
            return f"{mode:o}"
        if c == "N":
            return p
        return m.group(0)

    return re.sub(r"%(S?)([ugzpN])", sub, fmt)


def t_id(ctx: Ctx, argv: list[str]):
    flags = set()
    who = None
    for a in argv:
        if a.startswith("-") and len(a) > 1:
            for ch in a[1:]:
                if ch not in "ugn":
                    usage("usage: id [-u | -g] [-n] [user]")
                flags.add(ch)
        elif who is None:
            who = a
        else:
            usage("usage: id [-u | -g] [-n] [user]")
    if who is not None:
        u = C.user_by_name(ctx.users, who)
        if u is None:
            raise Fail(1, f"id: {who}: no such user")
    else:
        u = ctx.me
    gid = int(u.get("gid") or 20)
    gname = {0: "wheel", 20: "staff"}.get(gid, str(gid))
    if "u" in flags:
        out(u["name"] if "n" in flags else str(u["uid"]))
    elif "g" in flags:
        out(gname if "n" in flags else str(gid))
    elif "n" in flags:
        usage("usage: id [-u | -g] [-n] [user]")
    else:
        out(f"uid={u['uid']}({u['name']}) gid={gid}({gname}) groups={gid}({gname})")
    return 0


# --------------------------------------------------------------------------- sw_vers, ioreg, scutil


def t_sw_vers(ctx: Ctx, argv: list[str]):
    st = ctx.state
    vals = {"-productName": "macOS", "-productVersion": st["os_version"], "-buildVersion": st["build"]}
    if not argv:
        out(f"ProductName:\t\tmacOS\nProductVersion:\t\t{st['os_version']}\nBuildVersion:\t\t{st['build']}")
        return 0
    if len(argv) == 1 and argv[0] in vals:
        out(vals[argv[0]])
        return 0
    usage("usage: sw_vers [-productName | -productVersion | -buildVersion]")


def t_ioreg(ctx: Ctx, argv: list[str]):
    if "IOPlatformExpertDevice" not in argv:
        usage("usage: ioreg [-rd1] -c IOPlatformExpertDevice")
    import hashlib

    st = ctx.state
    serial = st["serial"]
    h = hashlib.sha1(("uuid:" + serial).encode()).hexdigest().upper()
    puuid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    out("+-o J316sAP  <class IOPlatformExpertDevice, id 0x100000110, registered, matched, active, busy 0 (34 ms), retain 39>")
    out("  {")
    out('    "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"')
    out('    "#address-cells" = <02000000>')
    out('    "compatible" = <"J316sAP","MacBookPro18,3","AppleARM">')
    out(f'    "IOPlatformUUID" = "{puuid}"')
    out(f'    "serial-number" = <{serial.encode().hex()}000000000000000000000000000000000000000000>')
    out(f'    "IOPlatformSerialNumber" = "{serial}"')
    out('    "model" = <"MacBookPro18,3">')
    out('    "manufacturer" = <"Apple Inc.">')
    out('    "product-name" = <"MacBook Pro (14-inch, 2021)">')
    out("  }")
    out("  ")
    return 0


def t_scutil(ctx: Ctx, argv: list[str]):
    if len(argv) != 2 or argv[0] != "--get":
        usage("usage: scutil --get ComputerName | LocalHostName | HostName")
    name = ctx.state["computer_name"]
    if argv[1] == "ComputerName":
        out(name)
    elif argv[1] == "LocalHostName":
        out("".join(c if c.isalnum() or c == "-" else "-" for c in name))
    elif argv[1] == "HostName":
        raise Fail(1, "HostName: not set")
    else:
        usage("usage: scutil --get ComputerName | LocalHostName | HostName")
    return 0
