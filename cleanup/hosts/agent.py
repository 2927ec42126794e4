"""The Mac's side of ``--host ssh://``: ``cleanup host-agent`` serves a LocalHost over JSON lines.

The workstation's ``ssh`` starts the agent on the Mac (as root, through ``sudo -n``) and talks to it over the
channel's stdin/stdout, one request per line and one answer per line, in order::

    -> {"id": 3, "op": "lstat", "args": {"path": "/Library/Preferences"}}
    <- {"id": 3, "ok": {"path": "/Library/Preferences", "kind": "dir", ...}}
    <- {"id": 3, "error": {"type": "UnsafePath", "message": "...", "hint": null}}

The first request is ``hello`` (protocol and versions). Error types are class names of ``cleanup.errors``; the
client raises that class again. Nothing but the protocol ever reaches stdout: the process's own stdout is
pointed at stderr before serving, and the commands it runs have their output captured.

Lab knobs (simulated Macs only, files in ``DIR/.lab``): ``restart_offline_seconds`` makes a successful
``/sbin/shutdown`` drop the connection and the Mac refuse connections for that long, as a restarting Mac does.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from typing import Any, BinaryIO

from cleanup import __version__, errors
from cleanup.hosts.base import Identity

PROTOCOL = 2  # 2: removals carry the planned identity; the run lock is held by the agent
MARKER = "cleanup-host-agent"
SHUTDOWN = "/sbin/shutdown"
OFFLINE_KNOB = ".lab/restart_offline_seconds"
OFFLINE_UNTIL = ".lab/offline_until"
#: what a Mac that is going down looks like to the ssh client (it reports the connection as unreachable)
OFFLINE_TEXT = "Connection closed by remote host (the simulated Mac is restarting)"
EXIT_OFFLINE = 255


class _Disconnect(Exception):
    """Leave without answering, as a Mac that goes down does."""


def error_record(exc: BaseException, op: str) -> dict[str, Any]:
    """The wire form of an exception: the nearest class of ``cleanup.errors``, its message and hint."""
    if isinstance(exc, errors.CleanupError):
        cls = next(c for c in type(exc).__mro__ if getattr(errors, c.__name__, None) is c)
        return {"type": cls.__name__, "message": exc.message, "hint": exc.hint}
    if isinstance(exc, (TypeError, ValueError)):
        return {"type": type(exc).__name__, "message": str(exc), "hint": None}
    return {"type": "HostError", "message": f"the host agent failed on {op}: {type(exc).__name__}: {exc}", "hint": None}


class Agent:
    """Answers one request at a time for the Mac rooted at ``root`` ("/" on a real Mac, a sim folder in the lab)."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.host = None
        self.lab = self.root != "/"

    # -------------------------------------------------------------------------------- requests
    def handle(self, request: Any) -> dict[str, Any]:
        rid = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("op"), str):
                raise errors.HostError("malformed request to the host agent")
            op, args = request["op"], request.get("args") or {}
            if op == "hello":
                return {"id": rid, "ok": self.hello(**args)}
            if self.host is None:
                raise errors.HostError("the host agent needs a hello first")
            method = getattr(self, f"op_{op}", None)
            if method is None:
                raise errors.HostError(f"the host agent does not know the request {op!r} (protocol {PROTOCOL})")
            return {"id": rid, "ok": method(**args)}
        except _Disconnect:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure crosses the wire as one error record
            return {"id": rid, "error": error_record(exc, str(request.get("op") if isinstance(request, dict) else "?"))}

    def hello(self, protocol: int = 0, version: str = "", spec: str = "", **_later) -> dict[str, Any]:
        from cleanup.hosts.local import LocalHost, open_local_host

        if self.host is None:
            self.host = LocalHost("/", "local") if not self.lab else open_local_host(f"sim:{self.root}")
        served = self.host.spec
        if isinstance(spec, str) and 0 < len(spec) < 300:
            self.host.spec = spec  # messages name the Mac the way the operator did
        return {"agent": MARKER, "protocol": PROTOCOL, "version": __version__, "served": served, "pid": os.getpid()}

    def op_run(self, argv, timeout=120, input=None) -> dict[str, Any]:
        res = self.host.run(argv, timeout=timeout, input=input)
        if self.lab and res.ok and list(argv[:1]) == [SHUTDOWN]:
            self._lab_restart()
        return {"returncode": res.returncode, "stdout": res.stdout, "stderr": res.stderr}

    def op_lstat(self, path):
        info = self.host.lstat(path)
        if info is None:
            return None
        return {"path": info.path, "kind": info.kind, "size": info.size, "mode": info.mode, "uid": info.uid, "link_target": info.link_target,
                "dev": info.dev, "ino": info.ino, "mounts": list(info.mounts)}

    def op_linked_parent(self, path):
        return self.host.linked_parent(path)

    def op_listdir(self, path):
        return self.host.listdir(path)

    def op_read_bytes(self, path):
        return base64.b64encode(self.host.read_bytes(path)).decode("ascii")

    def op_write_file(self, path, data, mode=0o644):
        self.host.write_file(path, base64.b64decode(data, validate=True), mode)

    def op_remove(self, path, expect=None):
        # the planned identity is checked here, on the Mac, right before the removal (never on the workstation)
        expected = None if expect is None else Identity(str(expect["kind"]), int(expect["dev"]), int(expect["ino"]))
        return list(self.host.remove(path, expected))

    def op_lock_run(self, key, holder):
        return self.host.lock_run(key, holder)  # held by this agent process until unlock_run or its end

    def op_label_run_lock(self, text):
        self.host.label_run_lock(text)

    def op_unlock_run(self, note):
        self.host.unlock_run(note)

    def op_boot_time(self):
        return self.host.boot_time()

    def op_console_user(self):
        return self.host.console_user()

    # -------------------------------------------------------------------------------- lab knobs
    def _lab_restart(self) -> None:
        try:
            with open(os.path.join(self.root, OFFLINE_KNOB)) as f:
                seconds = float(f.read().strip() or 0)
        except (OSError, ValueError):
            return
        with open(os.path.join(self.root, OFFLINE_UNTIL), "w") as f:
            f.write(f"{time.time() + seconds}\n")
        raise _Disconnect()

    def lab_offline(self) -> bool:
        if not self.lab:
            return False
        try:
            with open(os.path.join(self.root, OFFLINE_UNTIL)) as f:
                return time.time() < float(f.read().strip())
        except (OSError, ValueError):
            return False


def serve(root: str, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve requests until stdin ends; the process's stdout is reserved for answers."""
    if stdout is None:
        stdout = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)  # anything printed by mistake (ours or a library's) goes to stderr, never into the protocol
        sys.stdout = sys.stderr
    stdin = stdin or sys.stdin.buffer
    agent = Agent(root)
    if agent.lab_offline():
        sys.stderr.write(OFFLINE_TEXT + "\n")
        return EXIT_OFFLINE
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError:
                request = None
            try:
                answer = agent.handle(request)
            except _Disconnect:
                sys.stderr.write(OFFLINE_TEXT + "\n")
                return EXIT_OFFLINE
            stdout.write(json.dumps(answer).encode("ascii") + b"\n")
            stdout.flush()
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the workstation went away; nothing is left half-answered that it still waits for
    return 0
