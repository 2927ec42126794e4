"""The JSON contract: every ``--json`` output is one envelope (or, for a command that streams, one envelope per
line). docs/json.md documents each command's ``data``; tests/contract pins the envelope.

    {"schema_version": 1, "command": "plan", "exit_code": 0, "data": {...}, "errors": [...]}

``errors`` is present only when there are some: each ``{"type": class name, "message": ..., "hint": ...}``.

A command never builds the envelope itself. ``main`` starts each invocation with a :class:`Reply`; ``--json``
(common.JsonOpt) marks it with the command path as typed; the command then calls :func:`answer` (one envelope),
:func:`line` (JSON Lines) or, when it is about to fail, :func:`partial` (the data the failure envelope carries).
``main`` answers for a command that raised: :func:`answer_error`.
"""

from __future__ import annotations

import json
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Reply:
    """How one invocation answers: ``command`` is set in JSON mode only (None: text)."""

    command: str | None = None
    data: Any = None
    lines: bool = False
    emitted: bool = False


def envelope(command: str, data: Any, exit_code: int = 0, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "command": command, "exit_code": exit_code, "data": data}
    if errors:
        out["errors"] = errors
    return out


def error_entry(exc: BaseException) -> dict[str, Any]:
    message = getattr(exc, "message", None) or str(exc)
    return {"type": type(exc).__name__, "message": message, "hint": getattr(exc, "hint", None)}


def emit(command: str, data: Any, exit_code: int = 0, errors: list[dict[str, Any]] | None = None) -> None:
    """Print one envelope, indented (a command that answers once)."""
    sys.stdout.write(json.dumps(envelope(command, data, exit_code, errors), indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def emit_line(command: str, data: Any, exit_code: int = 0, errors: list[dict[str, Any]] | None = None) -> None:
    """Print one envelope on one line (JSON Lines: a command that streams prints one per event)."""
    sys.stdout.write(json.dumps(envelope(command, data, exit_code, errors), sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


# -- the invocation's reply -------------------------------------------------------------------------

_reply: ContextVar[Reply | None] = ContextVar("cleanup_reply", default=None)


def begin() -> Reply:
    """A fresh Reply for one invocation (``main`` starts each one with it)."""
    r = Reply()
    _reply.set(r)
    return r


def reply() -> Reply:
    return _reply.get() or begin()


def command_name(command_path: str) -> str:
    """The command path as typed, without the program name: "plan", "creds test", "batch run"."""
    return command_path.partition(" ")[2] or command_path


def use_json(ctx: Any, value: bool) -> bool:
    """Callback of --json (``ctx``: the command's Typer context): the invocation answers in JSON, under the
    command's name."""
    reply().command = command_name(ctx.command_path) if value else None
    return value


def answer(data: Any, exit_code: int = 0) -> None:
    """The command's one envelope, printed now."""
    r = reply()
    emit(r.command or "cleanup", data, exit_code)
    r.emitted = True


def line(data: Any, exit_code: int = 0, errors: list[dict[str, Any]] | None = None) -> None:
    """One JSON Lines envelope, printed now; a later failure is answered with one more line."""
    r = reply()
    r.lines = True
    emit_line(r.command or "cleanup", data, exit_code, errors)


def partial(data: Any) -> None:
    """What the envelope carries as ``data`` if the command now fails (a paused run's state, a refused plan)."""
    reply().data = data


def answer_error(r: Reply, exc: BaseException, exit_code: int) -> None:
    """For ``main``: the envelope of a command that raised, unless it already answered (streams always do)."""
    if r.command is None or (r.emitted and not r.lines):
        return
    (emit_line if r.lines else emit)(r.command, r.data, exit_code, [error_entry(exc)])
    r.emitted = True
