"""The fake notification tools: swiftDialog (``/usr/local/bin/dialog``), jamfHelper and ``/usr/bin/osascript``.

Each parses its arguments as the real tool does (sources and findings in docs/notifications.md), records what it
showed as one JSON line in ``.lab/notifications.jsonl`` and answers as the lab says: ``.lab/notify-answers.json``
(``{"answers": [...]}``) is a queue, one answer per dialog, each a button's text or ``"timeout"`` (the user does not
answer); an empty queue, or a button the dialog does not show, clicks the default button (the first).

A dialog needs a GUI session: the fake ``launchctl asuser UID`` names it (``SIMMAC_ASUSER``), and that user must be
logged in. osascript's ``display dialog`` must also run as a user, not root.
"""

from __future__ import annotations

import os
import re

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac.fakes import Ctx, Fail, out

RECORD_REL = ".lab/notifications.jsonl"
ANSWERS_REL = ".lab/notify-answers.json"
TIMEOUT = "timeout"


def set_answers(root, answers: list[str]) -> None:
    """The lab's knob: the answers the next dialogs get, in order."""
    C.write_atomic(os.path.join(os.fspath(root), ANSWERS_REL), C.dump_json({"answers": list(answers)}), 0o644)


def notifications(root) -> list[dict]:
    """Every notification the fakes showed, oldest first."""
    import json

    try:
        with open(os.path.join(os.fspath(root), RECORD_REL), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _session(ctx: Ctx, tool: str) -> str:
    """The logged-in user whose GUI session this runs in, else the tool's failure."""
    uid = os.environ.get("SIMMAC_ASUSER")
    user = C.user_by_uid(ctx.users, int(uid)) if uid and uid.lstrip("-").isdigit() else None
    if user is None or user["name"] not in (ctx.state.get("logged_in") or []):
        if tool == "osascript":
            raise Fail(1, "execution error: No user interaction allowed. (-1713)")
        raise Fail(1, f"{tool}: no GUI login session to show a window in")
    return user["name"]


def _answer(ctx: Ctx, buttons: list[str], timeout: int | None) -> str | None:
    """The button the lab's user clicks (None: the time ran out)."""
    ctx.lock()
    path = os.path.join(ctx.root, ANSWERS_REL)
    queue = C.load_json(path).get("answers", []) if os.path.exists(path) else []
    said = queue.pop(0) if queue else None
    if os.path.exists(path):
        C.write_atomic(path, C.dump_json({"answers": queue}), 0o644)
    if said == TIMEOUT:
        if timeout is None:
            raise Fail(1, f"{ctx.tool} (lab): the user does not answer, and this dialog has no timeout: it would wait for ever")
        return None
    return said if said in buttons else buttons[0]


def _record(ctx: Ctx, **entry) -> None:
    import json

    line = json.dumps({"tool": entry.pop("tool"), "as": ctx.me["name"], **entry}, ensure_ascii=False) + "\n"
    fd = os.open(os.path.join(ctx.root, RECORD_REL), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- swiftDialog

_DIALOG_VALUES = {"--title": "title", "-t": "title", "--message": "message", "-m": "message", "--button1text": "button1", "--button2text": "button2"}
_DIALOG_VALUES |= {"--timer": "timer", "--icon": "icon", "-i": "icon", "--infobuttontext": "info"}
_DIALOG_FLAGS = {"--button2": "button2flag", "-2": "button2flag", "--ontop": "ontop", "-p": "ontop", "--moveable": "moveable"}


def t_dialog(ctx: Ctx, argv: list[str]):
    """swiftDialog: an option's value is the next argument unless that begins with '-' (then its default), and a
    literal ``\\n`` in it is a newline (CLOptionText); unknown arguments are ignored (its source)."""
    if "--version" in argv or "-v" in argv:
        out("2.5.5.4802")
        return 0
    given: dict[str, str | None] = {}
    ignored: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _DIALOG_VALUES:
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            use = nxt is not None and not nxt.startswith("-")
            given[_DIALOG_VALUES[a]] = nxt.replace("\\n", "\n") if use and nxt is not None else None
            i += 2 if use else 1
            continue
        if a in _DIALOG_FLAGS:
            given[_DIALOG_FLAGS[a]] = ""
        else:
            ignored.append(a)
        i += 1
    buttons = [given.get("button1") or "OK"]
    if "button2" in given or "button2flag" in given:
        buttons.append(given.get("button2") or "Cancel")
    timer = None
    if "timer" in given:
        raw = given["timer"] or "10"
        timer = int(raw) if raw.isdigit() else 10
    shown_to = _session(ctx, "dialog")
    answer = _answer(ctx, buttons, timer)
    title, message = given.get("title") or "default-title", given.get("message") or "default-message"
    _record(
        ctx, tool="swiftDialog", session=shown_to, title=title, message=message, buttons=buttons, timeout=timer, answer=answer,
        timed_out=answer is None, ignored=ignored,
    )  # fmt: skip
    return 4 if answer is None else 2 if len(buttons) > 1 and answer == buttons[1] else 0


# --------------------------------------------------------------------------- jamfHelper

_JH_VALUES = frozenset(
    ("windowType", "windowPosition", "title", "heading", "description", "icon", "button1", "button2", "defaultButton", "cancelButton")
    + ("showDelayOptions", "alignDescription", "alignHeading", "alignCountdown", "timeout", "iconSize")
)
_JH_FLAGS = ("countdown", "lockHUD", "fullScreenIcon", "startlaunchd", "kill")
JH_USAGE = "Usage: jamfHelper -windowType [-windowPostion] [-title] [-heading] [-description] [-icon] [-button1] [-button2] [-defaultButton] ..."


def t_jamf_helper(ctx: Ctx, argv: list[str]):
    """jamfHelper: ``-key value`` pairs and a few flags; it prints its return value on stdout (docs/notifications.md)."""
    if argv[:1] == ["-help"]:
        out(JH_USAGE)
        return 0
    opts: dict[str, str] = {}
    ignored: list[str] = []
    i = 0
    while i < len(argv):
        key = argv[i][1:] if argv[i].startswith("-") else None
        if key in _JH_FLAGS:
            opts[key] = ""
            i += 1
        elif key in _JH_VALUES and i + 1 < len(argv):
            opts[key] = argv[i + 1]
            i += 2
        else:
            ignored.append(argv[i])
            i += 1
    if "windowType" not in opts:
        return _jh_return(255)
    if opts["windowType"] not in ("hud", "utility", "fs"):
        return _jh_return(250)
    buttons = [opts[b] for b in ("button1", "button2") if b in opts]
    timeout = int(opts["timeout"]) if opts.get("timeout", "").isdigit() else None
    shown_to = _session(ctx, "jamfHelper")
    answer = _answer(ctx, buttons or ["(none)"], timeout)
    timed_out = answer is None
    if timed_out and buttons:  # the timeout chooses the default button, else button 1, else button 2
        default = opts.get("defaultButton")
        answer = opts.get(f"button{default}") if default in ("1", "2") and f"button{default}" in opts else buttons[0]
    _record(
        ctx, tool="jamfHelper", session=shown_to, title=opts.get("title", ""), heading=opts.get("heading"), message=opts.get("description", ""),
        buttons=buttons, timeout=timeout, answer=answer if buttons else None, timed_out=timed_out, countdown="countdown" in opts, ignored=ignored,
    )  # fmt: skip
    if not buttons:
        return _jh_return(243)
    return _jh_return(2 if answer == opts.get("button2") else 0)


def _jh_return(value: int) -> int:
    out(str(value))
    return value


# --------------------------------------------------------------------------- osascript

OSA_USAGE = "usage: osascript [-l language] [-e script] [-i] [-s {ehso}] [programfile] [argument ...]"
_ITEM = r"\(item (-?\d+) of argv\)"
_DIALOG = re.compile(
    rf"(?P<ret>return )?\(?display dialog (?P<text>{_ITEM}|\"(?:[^\"\\]|\\.)*\")"
    rf"(?: with title (?P<title>{_ITEM}|\"(?:[^\"\\]|\\.)*\"))?"
    r"(?: buttons (?P<buttons>\w+|\{[^}]*\}))?"
    rf"(?: default button (?P<default>{_ITEM}|\"(?:[^\"\\]|\\.)*\"|\d+))?"
    rf"(?: giving up after (?P<giveup>\({_ITEM} as integer\)|\d+))?\)?"
)
_SET_ITEMS = re.compile(r"set (\w+) to items (-?\d+) thru (-?\d+) of argv")


def t_osascript(ctx: Ctx, argv: list[str]):
    """osascript with ``-e`` lines and arguments for the ``on run argv`` handler. The fake understands the one thing
    it is used for: a ``display dialog`` whose texts are literals or items of ``argv``; any other script is refused."""
    lines: list[str] = []
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        opt = argv[i]
        if opt in ("-e", "-l", "-s"):
            if i + 1 >= len(argv):
                raise Fail(1, f"osascript: option requires an argument -- {opt[1]}\n{OSA_USAGE}")
            if opt == "-e":
                lines.append(argv[i + 1])
            i += 2
            continue
        raise Fail(1, f"osascript: illegal option -- {opt[1:2]}\n{OSA_USAGE}")
    if not lines:
        raise Fail(1, "osascript (lab): only scripts given with -e are simulated")
    args = argv[i:]
    body = [ln.strip() for ln in "\n".join(lines).splitlines() if ln.strip()]
    if body[:1] != ["on run argv"] or body[-1:] != ["end run"]:
        raise Fail(1, "osascript (lab): only an `on run argv` handler is simulated")
    lists: dict[str, list[str]] = {}
    for line in body[1:-1]:
        if m := _SET_ITEMS.fullmatch(line):
            lists[m.group(1)] = _items(args, int(m.group(2)), int(m.group(3)))
        elif m := _DIALOG.fullmatch(line):
            return _display_dialog(ctx, m, args, lists, "\n".join(lines))
        else:
            raise Fail(1, f"osascript (lab): unsupported statement: {line[:80]}")
    return 0


def _display_dialog(ctx: Ctx, m: re.Match, args: list[str], lists: dict[str, list[str]], script: str) -> int:
    text = _value(m.group("text"), args)
    title = _value(m.group("title"), args) if m.group("title") else ""
    raw = m.group("buttons")
    if raw is None:
        buttons = ["Cancel", "OK"]
    elif raw.startswith("{"):
        buttons = [_value(b.strip(), args) for b in raw[1:-1].split(",") if b.strip()]
    elif raw in lists:
        buttons = lists[raw]
    else:
        raise Fail(1, f"execution error: The variable {raw} is not defined. (-2753)")
    if not 1 <= len(buttons) <= 3:
        raise Fail(1, "execution error: display dialog takes one to three buttons. (-50)")
    default = _value(m.group("default"), args) if m.group("default") else None
    if default is not None and default not in buttons and not (default.isdigit() and 1 <= int(default) <= len(buttons)):
        raise Fail(1, f"execution error: The default button {default!r} is not one of the buttons. (-50)")
    giveup = m.group("giveup")
    seconds = None if giveup is None else int(giveup) if giveup.isdigit() else _int(_value(giveup[1:].rsplit(" as integer", 1)[0], args))
    shown_to = _session(ctx, "osascript")
    if ctx.is_root:
        raise Fail(1, "execution error: No user interaction allowed. (-1713)")
    order = [default] + [b for b in buttons if b != default] if default in buttons else buttons
    answer = _answer(ctx, order, seconds)
    _record(
        ctx, tool="osascript", session=shown_to, title=title, message=text, buttons=buttons, timeout=seconds, answer=answer,
        timed_out=answer is None, script=script,
    )  # fmt: skip
    if answer == "Cancel":
        raise Fail(1, "execution error: User canceled. (-128)")
    if m.group("ret"):
        out(f"button returned:{answer or ''}, gave up:{'true' if answer is None else 'false'}")
    return 0


def _items(args: list[str], start: int, stop: int) -> list[str]:
    n = len(args)
    a, b = (start - 1 if start > 0 else n + start), (stop if stop > 0 else n + stop + 1)
    if not (0 <= a < n and a < b <= n):
        raise Fail(1, f"execution error: Can’t get items {start} thru {stop} of argv. (-1728)")
    return args[a:b]


def _value(token: str, args: list[str]) -> str:
    """An ``(item N of argv)`` or a string literal (its AppleScript escapes undone)."""
    if m := re.fullmatch(_ITEM, token):
        n = int(m.group(1))
        idx = n - 1 if n > 0 else len(args) + n
        if not 0 <= idx < len(args):
            raise Fail(1, f"execution error: Can’t get item {n} of argv. (-1728)")
        return args[idx]
    if token.startswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _int(text: str) -> int:
    if not text.strip().lstrip("-").isdigit():
        raise Fail(1, f'execution error: Can’t make "{text[:40]}" into type integer. (-1700)')
    return int(text)
