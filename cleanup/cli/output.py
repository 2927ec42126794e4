"""The JSON contract: every ``--json`` output is one envelope (or, for a command that streams, one envelope per
line). docs/json.md documents each command's ``data``; tests/contract pins the envelope.

    {"schema_version": 1, "command": "plan", "exit_code": 0, "data": {...}, "errors": [...]}

``errors`` is present only when there are some: each ``{"type": class name, "message": ..., "hint": ...}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

SCHEMA_VERSION = 1


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
