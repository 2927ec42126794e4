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
    """One loop: accept a request and fork its command, tell the client the pid, signal the command when the client
    asks (through its pidfd, so a signal never reaches another process that got the pid after it), send its status
    when it ends. Returns only in a forked command, with its request; the server ends when its test process does."""
    import gc
    import select

    for name in PRELOAD:
        __import__(name)
    import keyring.core

    if keyring.core._keyring_backend is not None:  # every command would then share the server's backend
        raise RuntimeError("the test fork server chose a keyring backend before forking")
    from cleanup.cli import command

    command()  # Typer's click command, built once for every command the server forks
    gc.freeze()  # a collection in a command would otherwise visit, so copy, every page it shares with the server
    from cleanup.lab.simmac.fakeserver import listening, poll_while_parent_lives

    server, poller, parent = listening(path, 64)
    calls: dict[int, _Call] = {}  # fd (connection or pidfd) -> its call
    for events in poll_while_parent_lives(poller, parent):
        for fd, _ in events:
            if fd == server.fileno():
                conn, _ = server.accept()
                try:
                    conn.settimeout(10)
                    request = json.loads(_read_request(conn))
                except (OSError, EOFError, ValueError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:  # the command: none of the server's sockets and pidfds
                    server.close()
                    for other in set(calls.values()):
                        other.conn.close()
                        os.close(other.pidfd)
                    conn.close()
                    return request
                call = _Call(conn, os.pidfd_open(pid), pid)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                calls[conn.fileno()] = calls[call.pidfd] = call
                poller.register(conn.fileno(), select.POLLIN)
                poller.register(call.pidfd, select.POLLIN)
                continue
            call = calls.get(fd)
            if call is None:
                continue
            if fd == call.pidfd:
                _, status = os.waitpid(call.pid, 0)
                with contextlib.suppress(OSError):  # the client may be gone
                    call.conn.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
                for gone in {call.conn.fileno(), call.pidfd} & set(calls):
                    with contextlib.suppress(KeyError):
                        poller.unregister(gone)
                    del calls[gone]
                call.conn.close()
                os.close(call.pidfd)
            else:
                call.read_signals(poller)


class _Call:
    def __init__(self, conn: socket.socket, pidfd: int, pid: int) -> None:
        self.conn, self.pidfd, self.pid, self.pending = conn, pidfd, pid, b""

    def read_signals(self, poller) -> None:
        try:
            data = self.conn.recv(4096)
        except OSError:
            data = b""
        if not data:  # the client went away: the command runs on, as a child a test left behind would
            poller.unregister(self.conn.fileno())
            return
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, int(json.loads(line)["signal"]))


def _read_request(conn: socket.socket) -> bytes:
    """The request line. The client sends nothing more until it has the pid, so whole chunks are the line's."""
    chunks: list[bytes] = []
    while not chunks or not chunks[-1].endswith(b"\n"):
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise EOFError("the client went away before its request was whole")
        chunks.append(chunk)
    return b"".join(chunks)


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
