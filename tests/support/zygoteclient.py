"""The tests' side of tests/support/zygote.py: one fork server per test process, started on first use."""

from __future__ import annotations

import atexit
import json
import os
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


def usable(overrides: dict) -> bool:
    """False when the command must start a fresh interpreter: its environment changes how one starts."""
    if os.environ.get("CLEANUP_TESTS_NO_ZYGOTE") == "1":
        return False
    return not any(k.startswith("PYTHON") or k.startswith("CRASHKIT") for k in overrides)


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


def run(args: list[str], argv: list[str], env: dict, cwd: Path, input: str | None, timeout: float) -> subprocess.CompletedProcess:
    """What subprocess.run(args, capture_output=True, text=True, ...) returns, from a process forked by the server."""
    with tempfile.TemporaryDirectory(prefix="zrun") as tmp:
        streams = {name: os.path.join(tmp, name) for name in ("stdin", "stdout", "stderr")}
        Path(streams["stdin"]).write_text(input or "")
        for name in ("stdout", "stderr"):
            Path(streams[name]).touch()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(_socket())
        conn.settimeout(timeout)
        with conn, conn.makefile("rwb") as stream:
            stream.write(json.dumps({"argv": argv, "env": env, "cwd": str(cwd), **streams}).encode() + b"\n")
            stream.flush()
            pid = json.loads(stream.readline())["pid"]
            try:
                status = json.loads(stream.readline())["status"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(args, timeout) from None
        out, err = (Path(streams[n]).read_text() for n in ("stdout", "stderr"))
    return subprocess.CompletedProcess(args, status, out, err)
