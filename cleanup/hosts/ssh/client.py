"""SshHost: a remote Mac (``ssh://user@mac[:port]``) driven through the system OpenSSH client.

Model: cleanup is installed on the Mac too. One SSH channel runs ``sudo -n cleanup host-agent`` there (see
cleanup/hosts/ssh/agent.py) and every Host call is one request and answer over it (cleanup/hosts/ssh/protocol.py).
With ``push_agent`` (``--push-agent``) a Mac without this version of cleanup gets this one's device-side artifact for
the channel's lifetime instead (cleanup/hosts/ssh/push.py). The user's ssh config,
agent and known_hosts apply; ``BatchMode`` means ssh never prompts (and never accepts an unknown host key);
``ControlMaster``/``ControlPersist`` let later channels (a reconnect, ``cleanup resume``) reuse the connection.

The channel is opened on first use and again after it dropped. Calls that may safely happen twice (all but
``run``) are retried once on a fresh channel; a drop during ``run`` raises ConnectionLost, since the command may
or may not have happened: the runner's checkpoint and audit intents sort that out on resume.
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Any

from cleanup import __version__
from cleanup.errors import ConnectionLost, SshError
from cleanup.hosts.base import CommandResult, Host, Identity, PathInfo, checked_argv
from cleanup.hosts.ssh import protocol as wire
from cleanup.hosts.ssh import push
from cleanup.hosts.ssh.openssh import (
    CONFIG_ENV,
    HELLO_SECONDS,
    agent_unusable,
    connect_error,
    control_dir,
    parse_ssh_spec,
    remote_command,
    ssh_argv,
)

CALL_SECONDS = 120  # any request but `run`
ANSWER_MARGIN = 30  # on top of a command's own timeout (the agent enforces that one)
JUNK_LINES = 200  # lines a chatty login shell may print before the agent's first answer


class _Dropped(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class _Channel:
    """One ``ssh … -- <agent>`` process; JSON lines on its stdin/stdout, its stderr kept for diagnosis."""

    def __init__(self, argv: list[str]):
        # ssh hands its environment to a ProxyCommand and, under a broad SendEnv, to the Mac: never our secrets
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True, close_fds=True
        )
        stdin, stdout, stderr = self.proc.stdin, self.proc.stdout, self.proc.stderr
        assert stdin is not None and stdout is not None and stderr is not None  # all three are pipes (PIPE above)
        self._stdin: IO[bytes] = stdin
        self._stdout: IO[bytes] = stdout
        self._stderr: IO[bytes] = stderr
        self.errors: deque[str] = deque(maxlen=40)
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        self._buf = bytearray()
        self._ids = 0

    def _read_stderr(self) -> None:
        for raw in self._stderr:
            self.errors.append(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, request: bytes) -> None:
        try:
            self._stdin.write(request)
            self._stdin.flush()
        except (OSError, ValueError):
            raise _Dropped("the connection is closed") from None

    def readline(self, deadline: float) -> bytes:
        fd = self._stdout.fileno()
        while (nl := self._buf.find(b"\n")) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Dropped("no answer in time")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise _Dropped("the connection closed")
                self._buf += chunk
        line = bytes(self._buf[:nl])
        del self._buf[: nl + 1]
        return line

    def hello(self, spec: str) -> dict[str, Any]:
        self.send(wire.request(0, "hello", {"protocol": wire.PROTOCOL, "version": __version__, "spec": spec}))
        deadline = time.monotonic() + HELLO_SECONDS
        for _ in range(JUNK_LINES):
            try:
                answer = wire.decode(self.readline(deadline))
            except wire.Malformed:
                continue  # a login shell's chatter before the agent started
            if wire.is_answer(answer, 0):
                return answer
        raise _Dropped("no hello from the agent")

    def call(self, op: str, args: dict[str, Any], deadline: float) -> dict[str, Any]:
        self._ids += 1
        self.send(wire.request(self._ids, op, args))
        raw = self.readline(deadline)
        try:
            answer = wire.decode(raw)
        except wire.Malformed:
            answer = None
        if not wire.is_answer(answer, self._ids):
            raise _Garbled(raw[:80].decode("utf-8", "replace"))
        return answer

    def finish(self) -> tuple[int | None, list[str]]:
        """After the channel ended: ssh's exit status and what it (or the remote command) said on stderr."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        self._drain.join(timeout=2)
        return code, list(self.errors)

    def close(self) -> None:
        try:
            self._stdin.close()  # the agent sees the end of its input and exits
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()  # a no-op for the process by now; closes the pipes

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._drain.join(timeout=1)
        streams = (self._stdin, self._stdout) + (() if self._drain.is_alive() else (self._stderr,))
        for stream in streams:
            try:
                stream.close()
            except OSError:
                pass


class _Garbled(Exception):
    pass


class _NotThisAgent(Exception):
    """The installed agent cannot serve this cleanup (missing, another version or protocol): push one."""


# ------------------------------------------------------------------------------------------ host
class SshHost(Host):
    """A Mac at ``ssh://user@host[:port]``, served by ``cleanup host-agent`` running there."""

    reconnects_after_restart = True  # the channel is opened again once the Mac is back

    def __init__(self, spec: str, *, push_agent: bool = False):
        self.target = parse_ssh_spec(spec)
        self.spec = self.target.spec
        self.push_agent = push_agent
        self.agent: dict[str, Any] = {}  # the agent's hello: protocol, version, what it serves (+ pushed: True)
        self._pushing = False  # the installed agent was found unusable: every channel pushes from now on
        self._python: str | None = None  # the Mac's interpreter for the pushed agent, found once
        self._channel: _Channel | None = None
        self._lock = threading.RLock()
        self._lock_args: dict[str, Any] | None = None  # the run lock this host holds: taken again by each new agent

    def __repr__(self) -> str:
        return f"SshHost({self.spec!r})"

    # ---------------------------------------------------------------------------------- channel
    def _open(self) -> _Channel:
        if self._channel is not None and self._channel.alive():
            return self._channel
        self._discard()
        channel, info = self._start_agent()
        self.agent = info
        if self._lock_args is not None:  # the agent that held the run lock is gone: this one must hold it
            try:
                answer = channel.call("lock_run", self._lock_args, time.monotonic() + CALL_SECONDS)
            except (_Dropped, _Garbled):
                channel.kill()
                raise ConnectionLost(f"connection to {self.spec} lost while taking the run lock again") from None
            if "error" in answer:
                channel.close()
                self._lock_args = None
                raise wire.remote_error(answer["error"])
        self._channel = channel
        return channel

    def _start_agent(self) -> tuple[_Channel, dict[str, Any]]:
        if not self._pushing:
            try:
                return self._hello(remote_command(), probing=self.push_agent)
            except _NotThisAgent:
                self._pushing = True
        data, sha256 = push.agent_artifact()
        if self._python is None:
            self._python = push.find_python(self.target)
        python = self._python
        channel, info = self._hello(
            push.push_command(python, len(data), sha256), payload=data, failure=lambda code, lines: push.push_failure(self.target, python, code, lines)
        )
        if info.get("version") != __version__:
            channel.close()
            raise push.version_mismatch(self.target, info.get("version"))
        return channel, {**info, "pushed": True}

    def _hello(
        self,
        command: str,
        *,
        probing: bool = False,
        payload: bytes | None = None,
        failure: Callable[[int | None, list[str]], SshError | None] | None = None,
    ) -> tuple[_Channel, dict[str, Any]]:
        """A channel running ``command`` whose agent said hello. ``probing``: an installed agent that cannot serve
        this cleanup (or is another version) raises _NotThisAgent; ``payload`` is sent before the hello."""
        argv = ssh_argv(self.target, command, control_dir(), os.environ.get(CONFIG_ENV) or None)
        try:
            channel = _Channel(argv)
        except FileNotFoundError:
            raise SshError("the OpenSSH client (`ssh`) is not installed on this computer") from None
        try:
            if payload is not None:
                channel.send(payload)
            answer = channel.hello(self.spec)
        except _Dropped:
            code, lines = channel.finish()  # ssh's own exit status tells refused / not found apart
            channel.kill()
            if probing and agent_unusable(code, lines):
                raise _NotThisAgent() from None
            raise (failure and failure(code, lines)) or connect_error(self.target, command, code, lines) from None
        if "error" in answer:
            channel.close()
            message = answer["error"].get("message") if isinstance(answer["error"], dict) else answer["error"]
            raise SshError(f"the cleanup agent on {self.spec} cannot serve: {message}")
        info = answer["ok"] if isinstance(answer["ok"], dict) else {}
        if info.get("agent") != wire.MARKER or info.get("protocol") != wire.PROTOCOL:
            channel.close()
            if probing:
                raise _NotThisAgent()
            raise SshError(
                f"the cleanup on {self.spec} speaks host protocol {info.get('protocol')!r} (cleanup {info.get('version', '?')}), "
                f"this one speaks {wire.PROTOCOL} (cleanup {__version__}): install the same version on both, or add --push-agent"
            )
        if probing and info.get("version") != __version__:
            channel.close()
            raise _NotThisAgent()
        return channel, info

    def _discard(self) -> None:
        if self._channel is not None:
            self._channel.kill()
            self._channel = None

    def close(self) -> None:
        """End the channel (the shared ssh connection itself lingers for ControlPersist)."""
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None

    def _call(self, op: str, args: dict[str, Any] | None = None, *, seconds: float = CALL_SECONDS, what: str = "") -> Any:
        retries = 0 if op == "run" else 1
        with self._lock:
            while True:
                channel = self._open()
                try:
                    answer = channel.call(op, args or {}, time.monotonic() + seconds)
                except _Dropped as exc:
                    self._discard()
                    if retries:
                        retries -= 1
                        continue
                    during = f"during {what}" if op == "run" else f"({' '.join(filter(None, (op, what)))})"
                    raise ConnectionLost(f"connection to {self.spec} lost {during}: {exc.why}") from None
                except _Garbled as exc:
                    self._discard()
                    raise SshError(f"garbled answer from the cleanup agent on {self.spec}: {exc}") from None
                if "error" in answer:
                    raise wire.remote_error(answer["error"])
                return answer["ok"]

    # ---------------------------------------------------------------------------------- Host
    def run(self, argv: Sequence[str], *, timeout: float = 120, input: str | None = None) -> CommandResult:
        argv = checked_argv(argv)
        res = self._call(
            "run", {"argv": list(argv), "timeout": timeout, "input": input}, seconds=(timeout or CALL_SECONDS) + ANSWER_MARGIN, what=f"`{shlex.join(argv)}`"
        )
        return CommandResult(argv, int(res["returncode"]), res["stdout"], res["stderr"])

    def lstat(self, path: str) -> PathInfo | None:
        return wire.pathinfo_from(self._call("lstat", {"path": path}, what=path))

    def linked_parent(self, path: str) -> str | None:
        linked: str | None = self._call("linked_parent", {"path": path}, what=path)
        return linked

    def listdir(self, path: str) -> list[str]:
        return list(self._call("listdir", {"path": path}, what=path))

    def read_bytes(self, path: str) -> bytes:
        return wire.bytes_from(self._call("read_bytes", {"path": path}, what=path))

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes")
        if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
            raise ValueError(f"invalid file mode: {mode!r}")
        self._call("write_file", {"path": path, "data": wire.bytes_record(data), "mode": mode}, what=path)

    def remove(self, path: str, expect: Identity | None = None) -> tuple[str, ...]:
        args: dict[str, Any] = {"path": path}
        if expect is not None:
            args["expect"] = wire.identity_record(expect)
        return tuple(self._call("remove", args, what=path) or ())

    def lock_run(self, key: str, holder: str) -> str:
        previous: str = self._call("lock_run", {"key": key, "holder": holder}, what="the run lock")
        self._lock_args = {"key": key, "holder": holder}
        return previous

    def label_run_lock(self, text: str) -> None:
        if self._lock_args is not None:
            self._lock_args = {**self._lock_args, "holder": text}
            self._call("label_run_lock", {"text": text}, what="the run lock")

    def unlock_run(self, note: str) -> None:
        if self._lock_args is not None:
            self._lock_args = None
            self._call("unlock_run", {"note": note}, what="the run lock")

    def boot_time(self) -> int:
        return int(self._call("boot_time"))

    def console_user(self) -> str | None:
        user: str | None = self._call("console_user")
        return user
