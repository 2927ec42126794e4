"""The fake ``/bin/ps``: the simulated Mac's login sessions, as processes.

Every user with a GUI login session (``state["logged_in"]``: at the console, or switched out with fast user
switching) owns a ``loginwindow`` process; at the login window, with nobody at the console, root owns one.
The apps in ``state["running_apps"]`` run as the console user. BSD ``ps -o`` keywords: ``uid``, ``user``,
``pid``, ``comm`` (the executable's path, as macOS prints it); ``kw=`` gives a column no header.
"""

from __future__ import annotations

from cleanup.lab.simmac.fakes import Ctx, Fail, out

LOGINWINDOW = "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow"
USAGE = "usage: ps [-AaCcEefhjlMmrSTvwXx] [-O fmt | -o fmt] [-G gid[,gid...]] [-g grp[,grp...]] [-u [uid,uid...]]"
_WIDTH = {"uid": 5, "pid": 5, "user": 16, "comm": 0}
_HEADER = {"uid": "UID", "pid": "PID", "user": "USER", "comm": "COMM"}


def _processes(ctx: Ctx) -> list[tuple[int, str]]:
    """(uid, command path) of the processes a session check looks at, in pid order."""
    st = ctx.state
    procs = [(0, "/sbin/launchd"), (0, "/usr/libexec/logd"), (0, "/usr/sbin/securityd")]
    console = st.get("console_user")
    if console not in (st.get("logged_in") or []):
        console = None
        procs.append((0, LOGINWINDOW))  # the login window
    uids = {u["name"]: u["uid"] for u in ctx.users}
    for name in st.get("logged_in") or []:
        if name in uids:
            procs.append((uids[name], LOGINWINDOW))
    if console in uids:
        procs += [(uids[console], f"/Applications/{app}.app/Contents/MacOS/{app}") for app in st.get("running_apps") or []]
    return procs


def _columns(argv: list[str]) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or len(a) < 2:
            raise Fail(1, USAGE)
        flags = a[1:]
        if "o" in flags:
            if flags.index("o") != len(flags) - 1 or i + 1 >= len(argv):
                raise Fail(1, USAGE)
            for spec in argv[i + 1].split(","):
                kw, eq, header = spec.partition("=")
                if kw not in _WIDTH:
                    raise Fail(1, f"ps: {kw}: keyword not found\nps: no valid keywords; valid keywords:\n{' '.join(sorted(_WIDTH))}")
                cols.append((kw, header if eq else _HEADER[kw]))
            i += 2
            continue
        if any(f not in "aAxe" for f in flags):
            raise Fail(1, USAGE)
        i += 1
    return cols or [("pid", "PID"), ("comm", "COMM")]


def _cell(kw: str, value: str, last: bool) -> str:
    width = _WIDTH[kw]
    if kw in ("uid", "pid"):
        return value.rjust(width)
    return value if last else value.ljust(width)


def t_ps(ctx: Ctx, argv: list[str]):
    cols = _columns(argv)
    names = {u["uid"]: u["name"] for u in ctx.users}
    rows = []
    for pid, (uid, comm) in enumerate(_processes(ctx), start=1):
        values = {"uid": str(uid), "pid": str(pid * 97 if pid > 1 else 1), "user": names.get(uid, str(uid)), "comm": comm}
        rows.append([values[kw] for kw, _ in cols])
    if any(header for _, header in cols):
        out(" ".join(_cell(kw, header, n == len(cols) - 1) for n, (kw, header) in enumerate(cols)).rstrip())
    for row in rows:
        out(" ".join(_cell(kw, v, n == len(cols) - 1) for n, ((kw, _), v) in enumerate(zip(cols, row, strict=True))).rstrip())
    return 0
