"""A fork server for the tests' command lines: `python -m tests.support.zygote SOCKET` imports the command line
once, then forks one process per request, which runs ``cleanup.cli.main`` with the request's arguments, environment,
working folder and files as its standard streams, and exits like `python -m cleanup` would.

Each command still runs in a process of its own (its own locks, signals, exit status; a SIGKILL is reported as -9),
but without an interpreter start, ~0.2 s of imports and ~70 ms of building the click command: the suite starts
thousands. tests/support/lab.run_cli uses
it unless the environment changes how an interpreter starts (PYTHONPATH, the crash kit) or
CLEANUP_TESTS_NO_ZYGOTE=1 is set.

Protocol, JSON lines over a Unix socket: the request ``{argv, env, cwd, stdin, stdout, stderr}`` (the three are file
paths), then ``{"pid": N}`` once the command runs and ``{"status": S}`` when it ended (S as subprocess's returncode:
the exit status, or minus the signal). Meanwhile the client may send ``{"signal": N}`` lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sys
import traceback

PRELOAD = (
    *("cleanup.cli", "cleanup.clients.session", "cleanup.clients.graph", "cleanup.clients.jamf", "cleanup.lab.tenant"),
    "typer._adapters",  # Typer converts option values through pydantic, imported at the first option: ~20% of the suite's CPU
    "keyring",  # imported only: it picks its backend (PYTHON_KEYRING_BACKEND) at first use, in the forked command
)


def _serve(path: str) -> dict:
    """Accept requests until killed; returns only in a forked command process, with its request."""
    for name in PRELOAD:
        __import__(name)
    import keyring.core

    if keyring.core._keyring_backend is not None:  # every command would then share the server's backend
        raise RuntimeError("the test fork server chose a keyring backend before forking")
    from cleanup.cli import command

    command()  # Typer's click command, built once for every command the server forks
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the monitors below are reaped by the kernel
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            return _monitor(conn)
        conn.close()


def _monitor(conn: socket.socket) -> dict:
    """Fork the command's process, tell the client its pid, signal it when the client asks and report how it ended.
    The signals go through the command's pidfd, so one never reaches another process that got the pid after it."""
    import select

    request = json.loads(_read_line(conn))
    pid = os.fork()
    if pid == 0:
        conn.close()
        return request
    pidfd = os.pidfd_open(pid)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(conn.fileno(), select.POLLIN)
    pending = b""
    while True:
        for fd, _ in poller.poll():
            if fd == pidfd:
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # the client may be gone
                    conn.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
                os._exit(0)
            data = conn.recv(4096)
            if not data:  # the client went away: the command runs on, as a child a test left behind would
                poller.unregister(conn.fileno())
                continue
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(pidfd, int(json.loads(line)["signal"]))


def _read_line(conn: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            raise EOFError("the client went away before its request was whole")
        line += chunk
    return line


def _run(request: dict) -> int:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY), (2, "stderr", os.O_WRONLY)):
        opened = os.open(request[name], flags)
        os.dup2(opened, fd)
        os.close(opened)
    random.seed()  # a fresh process would not share the server's random state
    sys.argv = ["cleanup", *request["argv"]]
    from cleanup.cli import main

    try:
        main(request["argv"])
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _exit(code: int) -> None:
    """End as an interpreter ends (exit functions, flushed streams), without tearing down every module."""
    import atexit
    import threading

    for thread in threading.enumerate():  # as interpreter exit does: wait for the non-daemon threads
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    from cleanup.lab.simmac.fakeserver import exit_flushed

    exit_flushed(code)


if __name__ == "__main__":
    _exit(_run(_serve(sys.argv[1])))
