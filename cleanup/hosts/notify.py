"""Telling the person at the Mac: swiftDialog if installed, else jamfHelper, else osascript (docs/notifications.md).

Every dialog runs in the console user's GUI session (``launchctl asuser UID``; osascript also as that user), as an
argv list through ``Host.run``, so it works on this Mac, over SSH and in the lab. The admin's text is one argv
element: never a shell string, never AppleScript source (the script reads it from ``argv``). Every dialog has a
timeout, and nobody at the console means nobody is told: the caller goes on.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cleanup.errors import HostError, SshError
from cleanup.hosts.base import LAUNCHCTL, Host, LocalUser

SWIFT_DIALOG = "/usr/local/bin/dialog"
JAMF_HELPER = "/Library/Application Support/JAMF/bin/jamfHelper.app/Contents/MacOS/jamfHelper"
OSASCRIPT = "/usr/bin/osascript"
#: the order tried; step 3 (removeFramework) takes jamfHelper with the JAMF folder
TOOLS = (("swiftDialog", SWIFT_DIALOG), ("jamfHelper", JAMF_HELPER), ("osascript", OSASCRIPT))

RESTART_SECONDS = 300  # the restart's countdown
INFO_SECONDS = 120  # a message the user reads (log in, register, repair)
MARGIN_SECONDS = 30  # Host.run waits this much longer than the dialog's own timeout

MODES = ("auto", "none")
KINDS = ("title", "restart", "login", "register", "psso-repair")
TABLE_KEYS = (*KINDS, "deferrals")
MAX_TITLE = 120
MAX_MESSAGE = 1000
MAX_DEFERRALS = 20
NOBODY = "not shown: no one logged in"

#: placeholders replaced in a text (literally, never str.format): {user} the user concerned, {how} the repair path
DEFAULT_TEXTS = {
    "title": "Repairing this Mac's registration",
    "restart": "This Mac must restart to finish repairing its registration with your organisation. Please save your work: "
    "it restarts when you choose Restart now, or when the time runs out.",
    "login": "To finish repairing this Mac's registration, {user} needs to log in on this Mac. The repair goes on after that.",
    "register": "This Mac's registration with your organisation has been reset. When the sign-in window appears, "
    "sign in with your work account to register it again.",
    "psso-repair": "This Mac's single sign-on registration must be repaired by {user}: {how}, and sign in with your work account.",
}
RESTART_NOW = "Restart now"
DEFER = "Defer"
OK = "OK"

_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def text_problem(kind: str, text: Any) -> str | None:
    """Why a notification text is refused, or None: bounded, printable, and never read as a tool's option."""
    if kind not in KINDS:
        return f"unknown kind {kind!r} (one of {', '.join(KINDS)})"
    if not isinstance(text, str):
        return "must be text"
    limit = MAX_TITLE if kind == "title" else MAX_MESSAGE
    if not text.strip():
        return "must not be empty"
    if len(text) > limit:
        return f"is {len(text)} characters long; at most {limit}"
    for ch in text:
        if ch == "\n" and kind == "title":
            return "holds a newline: a title is one line"
        if ch != "\n" and (unicodedata.category(ch) == "Cc" or ch in _BIDI):
            return f"holds the control character U+{ord(ch):04X} (only a newline is allowed, in a message)"
    if text.startswith("-"):
        return "must not begin with '-': swiftDialog and jamfHelper would read it as an option"
    return None


def deferrals_problem(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DEFERRALS:
        return f"must be a whole number from 0 to {MAX_DEFERRALS}"
    return None


def table_errors(table: Any, where: str) -> list[str]:
    """The problems of a playbook's ``[notify]`` table, each one line naming the key."""
    if not isinstance(table, dict):
        return [f"{where}: must be a table"]
    errs = [f"{where}.{key}: unknown key (accepted: {', '.join(TABLE_KEYS)})" for key in sorted(set(table) - set(TABLE_KEYS))]
    for key, value in table.items():
        why = deferrals_problem(value) if key == "deferrals" else text_problem(key, value) if key in KINDS else None
        if why:
            errs.append(f"{where}.{key}: {why}")
    return errs


def parse_text_option(item: str) -> tuple[str, str]:
    """``KIND=TEXT`` of ``--notify-text``; ValueError with the reason."""
    kind, eq, text = item.partition("=")
    if not eq:
        raise ValueError(f"{item[:40]!r} is not KIND=TEXT (KIND one of {', '.join(KINDS)})")
    why = text_problem(kind, text)
    if why:
        raise ValueError(f"{kind}: {why}")
    return kind, text


@dataclass(frozen=True)
class Options:
    """What the operator chose for one run (``--notify``, ``--notify-text``, ``--deferrals``), as recorded with it."""

    mode: str = "auto"
    texts: dict[str, str] = field(default_factory=dict)
    deferrals: int | None = None  # None: the playbook's

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "texts": dict(self.texts), "deferrals": self.deferrals}

    @classmethod
    def from_json(cls, data: Any) -> Options:
        """The recorded options; ValueError naming the field when they are damaged."""
        if not isinstance(data, dict) or set(data) - {"mode", "texts", "deferrals"}:
            raise ValueError("is not a table of mode, texts and deferrals")
        mode, texts, deferrals = data.get("mode", "auto"), data.get("texts") or {}, data.get("deferrals")
        if mode not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}")
        if not isinstance(texts, dict):
            raise ValueError("texts: must be a table")
        for kind, text in texts.items():
            if why := text_problem(kind, text):
                raise ValueError(f"texts.{kind}: {why}")
        if deferrals is not None and (why := deferrals_problem(deferrals)):
            raise ValueError(f"deferrals: {why}")
        return cls(mode, dict(texts), deferrals)

    def overridden(self, mode: str | None, texts: list[str], deferrals: int | None) -> Options:
        """These options with what the command line gives (``--notify``, ``--notify-text KIND=TEXT``, ``--deferrals``);
        ValueError naming the option when a value is refused."""
        if mode is not None and mode not in MODES:
            raise ValueError(f"--notify takes {' or '.join(MODES)}, not {mode[:40]!r}")
        given = dict(self.texts)
        for item in texts:
            try:
                kind, text = parse_text_option(item)
            except ValueError as exc:
                raise ValueError(f"--notify-text {exc}") from None
            given[kind] = text
        if deferrals is not None and (why := deferrals_problem(deferrals)):
            raise ValueError(f"--deferrals {why}")
        return Options(mode or self.mode, given, self.deferrals if deferrals is None else deferrals)


@dataclass(frozen=True)
class Settings:
    """The texts and deferrals in effect: the operator's, else the playbook's ``[notify]`` table, else the defaults."""

    texts: Mapping[str, str]
    deferrals: int

    def text(self, kind: str, **fill: str) -> str:
        text = self.texts.get(kind) or DEFAULT_TEXTS[kind]
        for name, value in fill.items():
            text = text.replace("{" + name + "}", value)
        return text


def effective(table: Mapping[str, Any], options: Options) -> Settings:
    texts = {k: v for k, v in table.items() if k in KINDS} | options.texts
    deferrals = options.deferrals if options.deferrals is not None else int(table.get("deferrals", 0))
    return Settings(texts, deferrals)


@dataclass(frozen=True)
class Dialog:
    title: str
    message: str
    buttons: tuple[str, ...]  # the first is the default, chosen when the time runs out
    timeout: int  # seconds


@dataclass(frozen=True)
class Told:
    """What telling the user came to: shown (with which tool, to whom, the button chosen or None on a timeout) or not."""

    shown: bool
    tool: str | None = None
    user: str | None = None
    answer: str | None = None
    why: str = ""

    def text(self) -> str:
        if not self.shown:
            return self.why
        said = f"answered {self.answer!r}" if self.answer is not None else "no answer before the time ran out"
        return f"told {self.user} with {self.tool} ({said})"


def tell(host: Host, user: LocalUser | None, dialog: Dialog) -> Told:
    """Show ``dialog`` to ``user`` (the console user; None: nobody is logged in) with the first tool the Mac has that
    works. A tool that fails lets the next one try; none working is a Told that says why, never an error."""
    if user is None:
        return Told(False, why=NOBODY)
    failures: list[str] = []
    for name, path in TOOLS:
        info = host.lstat(path)
        if info is None or info.kind not in ("file", "link"):
            continue
        try:
            answer = _show(host, user, name, path, dialog)
        except _Failed as exc:
            failures.append(f"{name}: {exc}")
            continue
        except SshError:
            raise  # the Mac is gone: not a notification problem, and the caller must not act as if it were told
        except HostError as exc:
            failures.append(f"{name}: {exc.message}")
            continue
        return Told(True, name, user.name, answer)
    if not failures:
        return Told(False, user=user.name, why="not shown: the Mac has neither swiftDialog, jamfHelper nor osascript")
    return Told(False, user=user.name, why="not shown: " + "; ".join(failures))


class _Failed(Exception):
    pass


def _show(host: Host, user: LocalUser, name: str, path: str, d: Dialog) -> str | None:
    timeout = d.timeout + MARGIN_SECONDS
    if name == "osascript":
        res = host.run_as_user(user, osascript_argv(d), timeout=timeout)
        return osascript_answer(res.returncode, res.stdout, res.stderr)
    argv = swift_dialog_argv(path, d) if name == "swiftDialog" else jamf_helper_argv(path, d)
    res = host.run([LAUNCHCTL, "asuser", str(user.uid), *argv], timeout=timeout)
    if name == "swiftDialog":
        return swift_dialog_answer(res.returncode, d, res.stderr)
    return jamf_helper_answer(res.returncode, res.stdout, d)


def swift_dialog_argv(path: str, d: Dialog) -> list[str]:
    argv = [path, "--title", d.title, "--message", d.message, "--button1text", d.buttons[0]]
    if len(d.buttons) > 1:
        argv += ["--button2text", d.buttons[1]]
    return [*argv, "--timer", str(d.timeout), "--ontop"]


def swift_dialog_answer(code: int, d: Dialog, stderr: str = "") -> str | None:
    """swiftDialog's exit status: 0 button 1, 2 button 2, 4 the timer ran out (its source, AppVariables.swift)."""
    if code == 0:
        return d.buttons[0]
    if code == 2 and len(d.buttons) > 1:
        return d.buttons[1]
    if code == 4:
        return None
    raise _Failed(f"exit {code}" + (f": {stderr.strip()[:120]}" if stderr.strip() else ""))


def jamf_helper_argv(path: str, d: Dialog) -> list[str]:
    argv = [path, "-windowType", "utility", "-title", d.title, "-heading", d.title, "-description", d.message, "-button1", d.buttons[0]]
    if len(d.buttons) > 1:
        argv += ["-button2", d.buttons[1], "-cancelButton", "2"]
    return [*argv, "-defaultButton", "1", "-timeout", str(d.timeout), "-countdown"]


def jamf_helper_answer(code: int, stdout: str, d: Dialog) -> str | None:
    """jamfHelper prints its return value on stdout: 0 button 1, 2 button 2 (a timeout chooses the default button,
    so it reads as button 1); 1 it could not launch, 239 the window was closed, 243 timed out without buttons."""
    raw = stdout.strip().splitlines()[-1:] or [str(code)]
    value = raw[0].strip()
    if value == "0":
        return d.buttons[0]
    if value == "2" and len(d.buttons) > 1:
        return d.buttons[1]
    if value == "243":
        return None
    raise _Failed(f"returned {value[:40]!r}")


#: an ``on run argv`` handler: the texts are its arguments, never its source
OSASCRIPT_LINES = (
    "on run argv",
    "set theButtons to items 4 thru -1 of argv",
    "return (display dialog (item 2 of argv) with title (item 1 of argv) buttons theButtons default button (item 4 of argv) "
    "giving up after ((item 3 of argv) as integer))",
    "end run",
)


def osascript_argv(d: Dialog) -> list[str]:
    argv = [OSASCRIPT]
    for line in OSASCRIPT_LINES:
        argv += ["-e", line]
    return [*argv, d.title, d.message, str(d.timeout), *d.buttons]


def osascript_answer(code: int, stdout: str, stderr: str) -> str | None:
    """``display dialog``'s record as osascript prints it: ``button returned:X, gave up:true|false``."""
    if code != 0:
        raise _Failed(f"exit {code}: {stderr.strip()[:120]}")
    line = stdout.strip()
    head, sep, gave_up = line.rpartition(", gave up:")
    if not sep or not head.startswith("button returned:") or gave_up not in ("true", "false"):
        raise _Failed(f"unexpected answer {line[:80]!r}")
    return None if gave_up == "true" else head[len("button returned:") :]
