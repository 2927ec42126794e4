"""The Mac's side of ``--host ssh://``: ``cleanup host-agent`` serves a LocalHost over the host protocol.

The workstation's ``ssh`` starts the agent on the Mac (as root, through ``sudo -n``) and talks to it over the
channel's stdin/stdout (see cleanup/hosts/ssh/protocol.py). Nothing but the protocol ever reaches stdout: the
process's own stdout is pointed at stderr before serving, and the commands it runs have their output captured.
"""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO

from cleanup import __version__, errors
from cleanup.hosts.local import LocalHost, open_sim_host
from cleanup.hosts.ssh import protocol as wire


class Agent:
    """Answers one request at a time for the Mac rooted at ``root`` ("/" on a real Mac, a sim folder in the lab)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.host: LocalHost | None = None

    def handle(self, request: Any) -> dict[str, Any]:
        rid = request.get("id") if isinstance(request, dict) else None
        op = request.get("op") if isinstance(request, dict) else None
        try:
            if not isinstance(op, str):
                raise errors.HostError("malformed request to the host agent")
            args = request.get("args") or {}
            if op == "hello":
                return wire.answer_ok(rid, self.hello(**args))
            method = getattr(self, f"op_{op}", None)
            if method is None:
                raise errors.HostError(f"the host agent does not know the request {op!r} (protocol {wire.PROTOCOL})")
            return wire.answer_ok(rid, method(**args))
        except Exception as exc:
            return wire.answer_error(rid, exc, op if isinstance(op, str) else "?")

    def hello(self, protocol: int = 0, version: str = "", spec: str = "", **_later: object) -> dict[str, Any]:
        if self.host is None:
            self.host = LocalHost("/", "local") if self.root == "/" else open_sim_host(self.root)
        served = self.host.spec
        if isinstance(spec, str) and 0 < len(spec) < 300:
            self.host.spec = spec  # messages name the Mac the way the operator did
        return {"agent": wire.MARKER, "protocol": wire.PROTOCOL, "version": __version__, "served": served, "pid": os.getpid()}

    @property
    def mac(self) -> LocalHost:
        if self.host is None:
            raise errors.HostError("the host agent needs a hello first")
        return self.host

    def op_run(self, argv: list[str], timeout: float = 120, input: str | None = None) -> dict[str, Any]:
        res = self.mac.run(argv, timeout=timeout, input=input)
        return {"returncode": res.returncode, "stdout": res.stdout, "stderr": res.stderr}

    def op_lstat(self, path: str) -> dict[str, Any] | None:
        return wire.pathinfo_record(self.mac.lstat(path))

    def op_linked_parent(self, path: str) -> str | None:
        return self.mac.linked_parent(path)

    def op_listdir(self, path: str) -> list[str]:
        return self.mac.listdir(path)

    def op_read_bytes(self, path: str) -> str:
        return wire.bytes_record(self.mac.read_bytes(path))

    def op_write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        self.mac.write_file(path, wire.bytes_from(data), mode)

    def op_remove(self, path: str, expect: dict[str, Any] | None = None) -> list[str]:
        # the planned identity is checked here, on the Mac, right before the removal (never on the workstation)
        return list(self.mac.remove(path, wire.identity_from(expect)))

    def op_lock_run(self, key: str, holder: str) -> str:
        return self.mac.lock_run(key, holder)  # held by this agent process until unlock_run or its end

    def op_label_run_lock(self, text: str) -> None:
        self.mac.label_run_lock(text)

    def op_unlock_run(self, note: str) -> None:
        self.mac.unlock_run(note)

    def op_boot_time(self) -> int:
        return self.mac.boot_time()

    def op_console_user(self) -> str | None:
        return self.mac.console_user()


def serve(root: str, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None, *, agent: Agent | None = None) -> int:
    """Serve requests until stdin ends; the process's stdout is reserved for answers."""
    if stdout is None:
        stdout = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)  # anything printed by mistake (ours or a library's) goes to stderr, never into the protocol
        sys.stdout = sys.stderr
    stdin = stdin or sys.stdin.buffer
    agent = agent or Agent(root)
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = wire.decode(line)
            except wire.Malformed:
                request = None
            stdout.write(wire.encode(agent.handle(request)))
            stdout.flush()
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the workstation went away; nothing is left half-answered that it still waits for
    return 0
