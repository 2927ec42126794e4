"""The host protocol: what crosses the SSH channel between ``SshHost`` and ``cleanup host-agent``.

One JSON object per line, ASCII only, one answer per request, in order::

    -> {"id": 3, "op": "lstat", "args": {"path": "/Library/Preferences"}}
    <- {"id": 3, "ok": {"path": "/Library/Preferences", "kind": "dir", ...}}
    <- {"id": 3, "error": {"type": "UnsafePath", "message": "...", "hint": null}}

The first request is ``hello`` (protocol and versions). An error's ``type`` is a class name of
``cleanup.errors``; the other side raises that class again, with its message and hint.
"""

from __future__ import annotations

import base64
import json
from typing import Any, TypeGuard

from cleanup import errors
from cleanup.hosts.base import Identity, PathInfo

PROTOCOL = 2  # 2: removals carry the planned identity; the run lock is held by the agent
MARKER = "cleanup-host-agent"
#: errors of Python itself that mean a bad argument; they cross the channel as themselves
_BUILTIN = {"TypeError": TypeError, "ValueError": ValueError}


class Malformed(ValueError):
    """A line that is not a protocol message."""


# ------------------------------------------------------------------------------------------ lines
def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode("ascii") + b"\n"


def decode(line: bytes) -> Any:
    """The JSON value of one line; Malformed when it is not JSON."""
    try:
        return json.loads(line)
    except ValueError:
        raise Malformed(line[:80].decode("utf-8", "replace")) from None


def request(rid: int, op: str, args: dict[str, Any]) -> bytes:
    return encode({"id": rid, "op": op, "args": args})


def is_answer(message: Any, rid: int) -> TypeGuard[dict[str, Any]]:
    return isinstance(message, dict) and message.get("id") == rid and ("ok" in message or "error" in message)


def answer_ok(rid: Any, value: Any) -> dict[str, Any]:
    return {"id": rid, "ok": value}


def answer_error(rid: Any, exc: BaseException, op: str) -> dict[str, Any]:
    return {"id": rid, "error": error_record(exc, op)}


# ------------------------------------------------------------------------------------------ errors
def error_record(exc: BaseException, op: str) -> dict[str, Any]:
    """The wire form of an exception: the nearest class of ``cleanup.errors``, its message and hint."""
    if isinstance(exc, errors.CleanupError):
        cls = next(c for c in type(exc).__mro__ if errors.BY_NAME.get(c.__name__) is c)
        return {"type": cls.__name__, "message": exc.message, "hint": exc.hint}
    for name, builtin in _BUILTIN.items():
        if isinstance(exc, builtin):
            return {"type": name, "message": str(exc), "hint": None}
    return {"type": "HostError", "message": f"the host agent failed on {op}: {type(exc).__name__}: {exc}", "hint": None}


def remote_error(record: Any) -> Exception:
    """The exception an error record stands for, of the same class as on the other side."""
    if not isinstance(record, dict):
        return errors.HostError("malformed error from the host agent")
    kind = record.get("type")
    message = str(record.get("message") or "the host agent reported an error")
    hint = record.get("hint") if isinstance(record.get("hint"), str) else None
    if kind in _BUILTIN:
        return _BUILTIN[kind](message)
    return errors.error_class(kind)(message, hint=hint)


# ------------------------------------------------------------------------------------------ values
def pathinfo_record(info: PathInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "path": info.path,
        "kind": info.kind,
        "size": info.size,
        "mode": info.mode,
        "uid": info.uid,
        "link_target": info.link_target,
        "dev": info.dev,
        "ino": info.ino,
        "mounts": list(info.mounts),
    }


def pathinfo_from(record: dict[str, Any] | None) -> PathInfo | None:
    if record is None:
        return None
    return PathInfo(
        path=record["path"],
        kind=record["kind"],
        size=record["size"],
        mode=record["mode"],
        uid=record["uid"],
        link_target=record.get("link_target"),
        dev=record.get("dev", 0),
        ino=record.get("ino", 0),
        mounts=tuple(record.get("mounts", ())),
    )


def identity_record(identity: Identity) -> dict[str, Any]:
    return {"kind": identity.kind, "dev": identity.dev, "ino": identity.ino}


def identity_from(record: dict[str, Any] | None) -> Identity | None:
    if record is None:
        return None
    return Identity(str(record["kind"]), int(record["dev"]), int(record["ino"]))


def bytes_record(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def bytes_from(record: str) -> bytes:
    return base64.b64decode(record, validate=True)
