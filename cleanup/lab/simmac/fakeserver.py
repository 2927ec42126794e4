"""A fork server for the simulated Mac's fake tools, so that a fake call costs a fork instead of an interpreter.

A plain fake script starts ``python -S`` (~20 ms each; a full reset makes hundreds of calls). With the server
running, ``create_sim_mac`` writes the same scripts with ``launcher.c`` as their shebang: the launcher hands its
standard streams, arguments, environment and working folder to this server, which forks a child that runs the
script's code as ``python -S SCRIPT`` would, with the fakes already imported. The program that runs the tool still
sees one process that takes its input, writes its output and exits with the fake's status (or is killed by the
same signal); killing that process kills the fake. The launcher falls back to ``python -S`` when the server is
gone, and a machine without a C compiler keeps the plain scripts: behaviour is the same either way.

``start(workdir)`` compiles the launcher and starts the server; ``FakeServer.env`` is the environment that makes
``create_sim_mac`` use it (``SIMMAC_FAKE_LAUNCHER``). The server ends with ``stop()`` or when its parent does.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys

from cleanup.lab.simmac import common as C

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the server's every MB slows each fork
if TYPE_CHECKING:
    import subprocess
    from typing import NoReturn

LAUNCHER_ENV = "SIMMAC_FAKE_LAUNCHER"
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.c")
_PRELOAD = (
    *(f"cleanup.lab.simmac.{m}" for m in ("fakes", "tool_security", "tool_sso", "tool_mdm", "tool_misc", "tool_session", "tool_notify")),
    # what most fakes import where they need it; not hashlib, ssl or the builder, which the few fakes that need them
    # import themselves: each MB the server holds makes every fork slower
    *("fcntl", "signal", "time", "random", "plistlib", "xml.parsers.expat", "json", "re", "traceback", "functools"),
)


class FakeServer:
    def __init__(self, launcher: str, socket_path: str, proc: subprocess.Popen) -> None:
        self.launcher = launcher
        self.socket_path = socket_path
        self.proc = proc

    def __repr__(self) -> str:
        return f"FakeServer(launcher={self.launcher!r}, pid={self.proc.pid})"

    @property
    def env(self) -> dict[str, str]:
        return {LAUNCHER_ENV: self.launcher}

    def stop(self, *, remove_launcher: bool = False) -> None:
        """End the server. The launcher stays unless asked: the Macs made meanwhile name it (and it falls back
        to ``python -S``); a test session removes it with its Macs."""
        import shutil

        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if remove_launcher:
            shutil.rmtree(os.path.dirname(self.socket_path), ignore_errors=True)
        else:
            try:
                os.unlink(self.socket_path)
            except FileNotFoundError:
                pass


def start(workdir: str | None = None) -> FakeServer | None:
    """Compile the launcher and start the server; None when there is no C compiler or it fails to start."""
    import shutil
    import subprocess
    import tempfile

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    base = tempfile.mkdtemp(prefix="simmac-fakes-", dir=workdir)  # 0700: only this user reaches the socket
    sock = os.path.join(base, "s")
    launcher = os.path.join(base, "launcher")
    if len(f"#!{launcher}") > 120:  # a longer shebang line is cut by the kernel
        shutil.rmtree(base, ignore_errors=True)
        return None
    defines = [f'-DSOCKET_PATH="{sock}"', f'-DPYTHON_PATH="{sys.executable}"']
    built = subprocess.run([cc, "-O2", "-o", launcher, *defines, _SOURCE], capture_output=True, text=True)
    if built.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        return None
    code = f"import sys; sys.path.insert(0, {C.project_dir()!r}); from cleanup.lab.simmac.fakeserver import serve; serve({sock!r})"
    # started as LocalHost starts a fake (C locale, no PYTHON* settings), so its streams are set up alike
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C", "LC_ALL": "C"}
    proc = subprocess.Popen([sys.executable, "-S", "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, start_new_session=True)
    assert proc.stdout is not None
    if proc.stdout.readline() != b"ready\n":
        proc.kill()
        proc.wait()
        shutil.rmtree(base, ignore_errors=True)
        return None
    proc.stdout.close()
    return FakeServer(launcher, sock, proc)


# --------------------------------------------------------------------------- the server process


def serve(path: str) -> None:
    """One loop, one fork per call: accept a launcher, fork its fake, send the fake's status when its pidfd says it
    ended, kill it when its launcher goes away first. Ends when whoever started it is gone."""
    import gc
    import importlib
    import select
    import signal

    for name in _PRELOAD:
        importlib.import_module(name)
    if sys.path and sys.path[0] == "":  # python -c: a fake would otherwise search the caller's folder for modules
        del sys.path[0]
    gc.disable()  # a fake lives milliseconds; a collection in it would touch (copy) every page it shares
    gc.freeze()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(128)
    parent = os.getppid()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    poller = select.poll()
    poller.register(server.fileno(), select.POLLIN)
    calls: dict[int, tuple[socket.socket, int, int]] = {}  # fd (connection or pidfd) -> (connection, pidfd, pid)
    while True:
        events = poller.poll(1000)
        if not events and os.getppid() != parent:
            os._exit(0)
        for fd, _ in events:
            if fd == server.fileno():
                conn, _ = server.accept()
                pid = _start(conn, [server.fileno(), *calls])
                if pid is None:
                    conn.close()
                    continue
                pidfd = os.pidfd_open(pid)
                calls[conn.fileno()] = calls[pidfd] = (conn, pidfd, pid)
                poller.register(conn.fileno(), select.POLLIN | select.POLLHUP)
                poller.register(pidfd, select.POLLIN)
                continue
            call = calls.get(fd)
            if call is None:
                continue
            conn, pidfd, pid = call
            if fd == pidfd:
                _, status = os.waitpid(pid, 0)
                try:
                    conn.sendall(struct.pack("=i", os.waitstatus_to_exitcode(status)))
                except OSError:
                    pass  # the launcher is gone, or it exec'd what the fake asked it to
                for gone in (conn.fileno(), pidfd):
                    with contextlib.suppress(KeyError):
                        poller.unregister(gone)
                    del calls[gone]
                conn.close()
                os.close(pidfd)
            else:  # the launcher ended (killed by a timeout, say) or exec'd: the fake ends too, if it has not
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                poller.unregister(fd)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _start(conn: socket.socket, server_fds: list[int]) -> int | None:
    """Read one request and fork its fake; the pid, or None for a request that is not whole."""
    conn.settimeout(5)
    fds: list[int] = []
    try:
        head, fds, _, _ = socket.recv_fds(conn, 12, 3)
        if len(head) < 12:
            head += _recv_exact(conn, 12 - len(head))
        size, argc, envc = struct.unpack("=III", head)
        fields = _recv_exact(conn, size).split(b"\0")[:-1]
    except (OSError, EOFError, struct.error):
        fields, argc, envc = [], 0, -1
    if len(fds) != 3 or len(fields) != 2 + argc + envc:
        for fd in fds:
            os.close(fd)
        return None
    pid = os.fork()
    if pid == 0:
        for fd in server_fds:  # the server's socket and the other calls' connections and pidfds
            os.close(fd)
        _child(conn, fds, fields, argc)
    for fd in fds:
        os.close(fd)
    return pid


#: the status word that announces an exec request instead of an exit status
EXEC_REQUEST = -(2**31)


def _exec_in_launcher(conn: socket.socket, path: str, argv: list[str]) -> None:
    """``os.execv`` for a forked fake: the launcher execs the program itself, so it keeps the caller's pid."""
    fields = [os.fsencode(path), *map(os.fsencode, argv), *(k + b"=" + v for k, v in os.environb.items())]
    payload = b"".join(f + b"\0" for f in fields)
    conn.sendall(struct.pack("=iIII", EXEC_REQUEST, len(payload), len(argv), len(os.environb)) + payload)
    os._exit(0)


def _child(conn: socket.socket, fds: list[int], fields: list[bytes], argc: int) -> None:
    """Become the fake: the launcher's streams, folder and environment, then the script's code."""
    import functools
    import random

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    ppid, cwd = int(fields[0]), os.fsdecode(fields[1])
    argv = [os.fsdecode(a) for a in fields[2 : 2 + argc]]
    os.environ.clear()
    for item in fields[2 + argc :]:
        key, sep, value = item.partition(b"=")
        if sep:
            os.environb[key] = value
    code = 1
    try:
        os.chdir(cwd)
        random.seed()
        from cleanup.lab.simmac import fakes

        fakes.CALLER_PID = ppid
        fakes.EXECV = functools.partial(_exec_in_launcher, conn)  # type: ignore[assignment]  # str paths only
        with open(argv[0], "rb") as f:
            source = f.read()
        if fakes._fake_tool(source[:512]) is None:
            sys.stderr.write(f"{argv[0]}: not a fake tool of a simulated Mac\n")
            os._exit(126)
        sys.argv = argv
        exec(compile(source, argv[0], "exec"), {"__name__": "__main__", "__file__": argv[0]})
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            sys.stderr.write(f"{e.code}\n")
    except BaseException:
        import traceback

        traceback.print_exc()
    exit_flushed(code)


def exit_flushed(code: int) -> NoReturn:
    """End a forked process with its streams flushed, without tearing down the modules it shares with its server."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
