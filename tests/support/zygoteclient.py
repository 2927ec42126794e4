"""The tests' side of tests/support/zygote.py: one fork server per test process, started on first use."""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_lock = threading.Lock()
_server: dict = {}


#: read by a library when it is first used, in the command, not when an interpreter starts: a forked command sees it
#: as a fresh interpreter would (tests/support/zygote.py checks the server has not used keyring)
RUNTIME_ONLY = frozenset({"PYTHON_KEYRING_BACKEND"})


def usable(overrides: dict) -> bool:
    """False when the command must start a fresh interpreter: its environment changes how one starts."""
    if os.environ.get("CLEANUP_TESTS_NO_ZYGOTE") == "1":
        return False
    return not any((k.startswith("PYTHON") and k not in RUNTIME_ONLY) or k.startswith("CRASHKIT") for k in overrides)


def _socket() -> str:
    with _lock:
        if "path" not in _server:
            folder = tempfile.mkdtemp(prefix="zyg")
            path = os.path.join(folder, "s")
            env = dict(os.environ, COLUMNS="250")  # rich reads the width once, when the command line is imported
            proc = subprocess.Popen([sys.executable, "-m", "tests.support.zygote", path], cwd=REPO, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            assert proc.stdout is not None
            if proc.stdout.readline() != b"ready\n":
                raise RuntimeError("the test fork server did not start")
            _server.update(path=path, proc=proc, folder=folder)
            atexit.register(_stop)
        return _server["path"]


def _stop() -> None:
    proc = _server.get("proc")
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
    if "folder" in _server:
        shutil.rmtree(_server["folder"], ignore_errors=True)  # its socket


class Process:
    """What the tests use of subprocess.Popen, for a command the server forked: ``pid`` is the command's own, and
    its signals go through the server, which holds the command's pidfd."""

    def __init__(self, args: list[str], conn: socket.socket) -> None:
        self.args, self._conn, self._pending = args, conn, b""
        self.returncode: int | None = None
        self.pid: int = self._message(None)["pid"]

    def _message(self, timeout: float | None) -> dict:
        self._conn.settimeout(timeout)
        while b"\n" not in self._pending:
            chunk = self._conn.recv(4096)
            if not chunk:
                raise RuntimeError("the test fork server went away")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = int(self._message(timeout)["status"])
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._conn], [], [], 0)[0]:
            self.wait()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            self._conn.sendall(json.dumps({"signal": int(sig)}).encode() + b"\n")

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def popen(args: list[str], argv: list[str], env: dict, cwd: Path, streams: dict[str, str]) -> Process:
    """A command forked by the server with ``streams`` (file paths) as its stdin, stdout and stderr."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(_socket())
    conn.sendall(json.dumps({"argv": argv, "env": env, "cwd": str(cwd), **streams}).encode() + b"\n")
    return Process(args, conn)


def run(args: list[str], argv: list[str], env: dict, cwd: Path, input: str | None, timeout: float) -> subprocess.CompletedProcess:
    """What subprocess.run(args, capture_output=True, text=True, ...) returns, from a process forked by the server."""
    with tempfile.TemporaryDirectory(prefix="zrun") as tmp:
        streams = {name: os.path.join(tmp, name) for name in ("stdin", "stdout", "stderr")}
        Path(streams["stdin"]).write_text(input or "")
        for name in ("stdout", "stderr"):
            Path(streams[name]).touch()
        proc = popen(args, argv, env, cwd, streams)
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        out, err = (Path(streams[n]).read_text() for n in ("stdout", "stderr"))
    return subprocess.CompletedProcess(args, status, out, err)
