"""The fake macOS tools of the simulated Mac. Each fake script in DIR calls ``main(<tool>, <DIR>)``.

Conventions:
- Every absolute path in argv is a Mac path, mapped under DIR (symlinks resolved Mac-style).
- Identity: env ``SIMMAC_USER`` (set by the fake ``sudo``) else the user whose uid is
  ``state["caller_uid"]`` (0 = root).
- Unknown verbs/flags: a usage line on stderr, exit 2.
- Without ``DIR/.lab/faults.json`` nothing is written except the command's own effect.

Decisions (where the spec left a choice):
- ``jamf`` verbs other than ``version``/``help`` need root: stderr ``This command requires root privileges.``, exit 1.
- ``profiles renew -type enrollment`` on a Mac that is not DEP-assigned: stderr
  ``profiles: The device is not assigned to an MDM server via Automated Device Enrollment.``, exit 1;
  non-root: ``profiles: this command requires root privileges.``, exit 1. A renew (and opening
  ``<jamf_url>/enroll...``) re-installs the Jamf framework *and* ``Self Service.app``.
- ``security``: see tool_security (SecurityTool's own behaviour: delete-identity without a visible private key
  deletes the certificate and exits 0; a certificate not there is exit 1; a locked keychain's search finds
  nothing; the ``locked_keychains_list`` knob lets a locked keychain list its attributes).
- ``launchctl asuser``/``sudo`` with a command that does not exist in DIR: exit 127 / exit 1.
- Extra fakes (not in the spec's list): ``Jamf Conditional Access`` inside the JAMF folder, under both spellings
  (``clean`` / ``gatherAADInfo`` / ``registerWithIntune`` as the logged-in user, ``getPSSOStatus`` / ``version``),
  ``app-sso platform -s`` and ``profiles list|show``: see ``tool_sso``; the notification tools (swiftDialog when the
  Mac is built with it, jamfHelper in the JAMF folder, osascript): see ``tool_notify``.
- Fault "after" kills happen in the final *fake* of a launchctl/sudo chain; a chain ending in a
  non-fake program is counted but its "after" kill is lost.
- The fake scripts' shebang is ``#!<sys.executable> -S`` (no site: faster start, stdlib only), or the launcher of
  ``fakeserver`` when ``SIMMAC_FAKE_LAUNCHER`` names it (the same code, forked from a server).
"""

from __future__ import annotations

import os
import sys

from cleanup.lab.simmac import common as C

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms for every fake tool call)
if TYPE_CHECKING:
    from typing import NoReturn

OUT = sys.stdout
ERR = sys.stderr
#: the process that started this tool, when that is not our parent (fakeserver's forked fakes)
CALLER_PID: int | None = None
#: how a chain ends in a program that is not a fake: in this process (fakeserver: in its launcher's)
EXECV = os.execv


class Fail(Exception):
    def __init__(self, code: int, msg: str | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def out(line: str = "") -> None:
    OUT.write(line + "\n")


def err(line: str) -> None:
    ERR.write(line + "\n")


def usage(line: str) -> NoReturn:
    raise Fail(2, line)


# --------------------------------------------------------------------------- context


class Ctx:
    def __init__(self, tool: str, root: str) -> None:
        self.tool = tool
        self.root = root
        self._state: dict | None = None
        self._users: list[dict] | None = None
        self._me: dict | None = None
        self._lockfd: int | None = None

    @property
    def state(self) -> dict:
        if self._state is None:
            self._state = C.load_state(self.root)
        return self._state

    @property
    def users(self) -> list[dict]:
        if self._users is None:
            self._users = C.load_users(self.root)
        return self._users

    def user_named(self, name: str) -> dict | None:
        if self._users is None:
            found = C.load_user_file(self.root, name)
            if found is not None:
                return found
        return C.user_by_name(self.users, name)

    def lock(self) -> None:
        """Serialize mutations (flock on the .lab directory; creates no file). Reloads the state."""
        if self._lockfd is None:
            import fcntl

            self._lockfd = os.open(os.path.join(self.root, C.LAB_DIR), os.O_RDONLY)
            fcntl.flock(self._lockfd, fcntl.LOCK_EX)
            self._state = None

    def unlock(self) -> None:
        """Release ``lock`` (a fake's process ends with it; a caller in a longer-lived process must)."""
        if self._lockfd is not None:
            os.close(self._lockfd)
            self._lockfd = None

    def save(self) -> None:
        C.save_state(self.root, self.state)

    @property
    def me(self) -> dict:
        if self._me is None:
            name = os.environ.get("SIMMAC_USER")
            if name:
                u = self.user_named(name)
                if u is None:
                    raise Fail(1, f"{self.tool}: unknown user {name}")
            else:
                uid = int(self.state.get("caller_uid", 0))
                root_user = self.user_named("root") if uid == 0 else None
                u = (
                    (root_user if root_user and root_user["uid"] == 0 else None)
                    or C.user_by_uid(self.users, uid)
                    or {"name": str(uid), "uid": uid, "home": "/var/empty", "gid": "20"}
                )
            self._me = u
        return self._me

    @property
    def is_root(self) -> bool:
        return self.me["uid"] == 0

    def host(self, mac: str) -> str:
        return C.resolve_host(self.root, mac)

    def home_of(self, name: str) -> str | None:
        u = self.user_named(name)
        return u["home"] if u else None


# --------------------------------------------------------------------------- entry point


def _count_call(root: str) -> int:
    import fcntl

    fd = os.open(os.path.join(root, C.CALLS_REL), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 64).strip()
        n = (int(raw) if raw else 0) + 1
        os.lseek(fd, 0, 0)
        os.ftruncate(fd, 0)
        os.write(fd, f"{n}\n".encode())
    finally:
        os.close(fd)
    return n


def _kill_parent() -> None:
    import signal

    try:
        OUT.flush()
        ERR.flush()
    except Exception:
        pass
    os.kill(CALLER_PID or os.getppid(), signal.SIGKILL)


def main(tool: str, root: str) -> None:
    env = os.environ
    if "SIMMAC_COUNTED" not in env:
        faults_path = os.path.join(root, C.FAULTS_REL)
        if os.path.exists(faults_path):
            env["SIMMAC_COUNTED"] = "1"
            faults = C.load_json(faults_path)
            n = _count_call(root)
            if n == faults.get("kill_caller_before_call"):
                _kill_parent()
                os._exit(1)
            if n == faults.get("kill_caller_after_call"):
                env["SIMMAC_KILL_AFTER"] = "1"
    _run(tool, root, sys.argv[1:])


def _run(tool: str, root: str, args: list[str]) -> None:
    ctx = Ctx(tool, root)
    try:
        rc = _tool(tool)(ctx, args) or 0
    except Fail as e:
        if e.msg:
            err(e.msg)
        rc = e.code
    if os.environ.get("SIMMAC_KILL_AFTER") == "1":
        _kill_parent()
    OUT.flush()
    ERR.flush()
    sys.exit(rc)


_FAKE_MAIN = b"from cleanup.lab.simmac.fakes import main; main('"


def _fake_tool(head: bytes) -> str | None:
    """The tool name in a fake script of this lab, or None for any other program."""
    at = head.find(_FAKE_MAIN)
    if at < 0:
        return None
    start = at + len(_FAKE_MAIN)
    end = head.find(b"'", start)
    return head[start:end].decode() if end > start else None


def _exec(ctx: Ctx, cmd: str, args: list[str], not_found):
    """execv a Mac command (PID kept); ``not_found`` is called when it does not exist in DIR."""
    if "/" not in cmd:
        for d in C.MAC_PATH:
            cand = f"{d}/{cmd}"
            if os.path.exists(ctx.host(cand)):
                cmd = cand
                break
    hp = ctx.host(cmd) if cmd.startswith("/") else None
    if hp is None or not os.path.isfile(hp):
        not_found()
    assert hp is not None  # not_found raises
    if not os.access(hp, os.X_OK):
        raise Fail(126, f"{ctx.tool}: {cmd}: Permission denied")
    OUT.flush()
    ERR.flush()
    with open(hp, "rb") as f:
        head = f.read(512)
    fake = _fake_tool(head)
    if fake:
        # Another fake of this Mac: run it in this process (same PID, as execv would keep) instead of
        # starting a new interpreter, which would cost the lab most of its time.
        sys.argv = [cmd, *args]
        _run(fake, ctx.root, args)
    EXECV(hp, [cmd, *args])


# --------------------------------------------------------------------------- launchctl, sudo


def t_launchctl(ctx: Ctx, argv: list[str]):
    if not argv or argv[0] != "asuser":
        usage("Usage: launchctl asuser <uid> <command> [args ...]")
    if len(argv) < 3:
        usage("Usage: launchctl asuser <uid> <command> [args ...]")
    try:
        uid = int(argv[1])
    except ValueError:
        usage("Usage: launchctl asuser <uid> <command> [args ...]")
    if not ctx.is_root:
        raise Fail(1, "Could not switch to audit session 0x0: 1: Operation not permitted")
    os.environ["SIMMAC_ASUSER"] = str(uid)

    def nf():
        raise Fail(127, f"launchctl: execve({argv[2]}): No such file or directory")

    _exec(ctx, argv[2], argv[3:], nf)


def t_sudo(ctx: Ctx, argv: list[str]):
    user = "root"
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if a == "-u":
            if i + 1 >= len(argv):
                usage("usage: sudo [-nH] [-u user] command [arg ...]")
            user = argv[i + 1]
            i += 2
            continue
        if a.startswith("-u") and len(a) > 2:
            user = a[2:]
        elif a not in ("-n", "-H", "-E"):
            usage("usage: sudo [-nH] [-u user] command [arg ...]")
        i += 1
    if i >= len(argv):
        usage("usage: sudo [-nH] [-u user] command [arg ...]")
    if not ctx.is_root:
        raise Fail(1, "sudo: a password is required")
    if not user.startswith("#"):
        u = ctx.user_named(user)
    elif user[1:].lstrip("-").isdigit():
        u = C.user_by_uid(ctx.users, int(user[1:]))
    else:
        u = None
    if u is None:
        raise Fail(1, f"sudo: unknown user {user}")
    os.environ["SIMMAC_USER"] = u["name"]
    cmd = argv[i]

    def nf():
        raise Fail(1, f"sudo: {cmd}: command not found")

    _exec(ctx, cmd, argv[i + 1 :], nf)


#: tool name -> (module, function); modules are imported on demand to keep start-up short
TOOLS = {
    "security": ("tool_security", "t_security"),
    "profiles": ("tool_sso", "t_profiles"),  # list/show here, status/renew in tool_mdm
    "jamf": ("tool_mdm", "t_jamf"),
    "open": ("tool_mdm", "t_open"),
    "jamfaad": ("tool_sso", "t_jamf_ca"),
    "app-sso": ("tool_sso", "t_app_sso"),
    "pkgutil": ("tool_misc", "t_pkgutil"),
    "killall": ("tool_misc", "t_killall"),
    "sysctl": ("tool_misc", "t_sysctl"),
    "shutdown": ("tool_misc", "t_shutdown"),
    "dscl": ("tool_misc", "t_dscl"),
    "stat": ("tool_misc", "t_stat"),
    "id": ("tool_misc", "t_id"),
    "sw_vers": ("tool_misc", "t_sw_vers"),
    "ioreg": ("tool_misc", "t_ioreg"),
    "scutil": ("tool_misc", "t_scutil"),
    "ps": ("tool_session", "t_ps"),
    "dialog": ("tool_notify", "t_dialog"),
    "jamfHelper": ("tool_notify", "t_jamf_helper"),
    "osascript": ("tool_notify", "t_osascript"),
    "launchctl": (None, "t_launchctl"),
    "sudo": (None, "t_sudo"),
}


def _tool(tool: str):
    mod, fn = TOOLS[tool]
    if mod is None:
        return globals()[fn]
    import importlib

    return getattr(importlib.import_module(f"cleanup.lab.simmac.{mod}"), fn)
