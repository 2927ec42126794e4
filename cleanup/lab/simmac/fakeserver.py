"""A server for the simulated Mac's fake tools, so that a fake call costs a message to a waiting process instead of
an interpreter.

A plain fake script starts ``python -S`` (~20 ms each; a full reset makes hundreds of calls). With the server
running, ``create_sim_mac`` writes the same scripts with ``launcher.c`` as their shebang: the launcher hands its
standard streams, arguments, environment and working folder to this server, which gives the call to a worker, a
process forked from the server with the fakes already imported, that runs the script's code as ``python -S SCRIPT``
would. A worker runs call after call (a fork per call copied ~600 pages of the server each time) as long as a call
leaves nothing behind: one that keeps a file open (the Mac's lock), starts a thread, cannot flush its output, or ends
its own process (a fault, an exec) ends the worker, and the next call gets a fresh one. Between calls a worker holds
no caller's streams or folder. The program that runs the tool still sees one process that takes its input, writes
its output and exits with the fake's status (or is killed by the same signal); killing that process kills the
worker running its call. The launcher falls back to ``python -S`` when the server is gone, and a machine without a C
compiler keeps the plain scripts: behaviour is the same either way.

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

#: a worker runs calls one after another until one leaves something behind (an open file, a thread, unflushed
#: output), asks to exec or exit itself, or it has run this many; the idle ones beyond IDLE_WORKERS end
CALLS_PER_WORKER = 500
IDLE_WORKERS = 16


class _Worker:
    def __init__(self, pid: int, sock: socket.socket, pidfd: int) -> None:
        self.pid, self.sock, self.pidfd = pid, sock, pidfd
        self.call: socket.socket | None = None  # the launcher whose call it runs


def serve(path: str) -> None:
    """One loop: accept a launcher, hand its call to an idle worker (forked from this server when none is idle),
    send the launcher the call's status when the worker reports it, or when the worker ended during the call (its
    pidfd says so: killed, exited, exec'd); kill the worker when its launcher goes away first. Ends when whoever
    started it is gone."""
    import gc
    import importlib
    import select
    import signal

    for name in _PRELOAD:
        importlib.import_module(name)
    if sys.path and sys.path[0] == "":  # python -c: a fake would otherwise search the caller's folder for modules
        del sys.path[0]
    gc.disable()  # a worker's collections would touch (copy) every page it shares with the server
    gc.freeze()
    server, poller, parent = listening(path, 128)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    workers: dict[int, _Worker] = {}  # fd (worker socket, pidfd or the launcher of its call) -> worker
    idle: list[_Worker] = []

    def forget(worker: _Worker) -> None:
        for fd in (worker.sock.fileno(), worker.pidfd):
            if workers.pop(fd, None) is not None:
                poller.unregister(fd)
        if worker in idle:
            idle.remove(worker)

    def answer(worker: _Worker, status: int) -> None:
        call, worker.call = worker.call, None
        if call is None:
            return
        if workers.pop(call.fileno(), None) is not None:
            poller.unregister(call.fileno())
        with contextlib.suppress(OSError):  # the launcher is gone, or it exec'd what the fake asked it to
            call.sendall(struct.pack("=i", status))
        call.close()

    for events in poll_while_parent_lives(poller, parent):
        for fd, _ in events:
            if fd == server.fileno():
                conn, _ = server.accept()
                request = _read_request(conn)
                if request is None:
                    conn.close()
                    continue
                fds, payload = request
                chosen = idle.pop() if idle else _spawn(server, workers, conn, fds)
                if chosen.pidfd not in workers:
                    workers[chosen.sock.fileno()] = workers[chosen.pidfd] = chosen
                    poller.register(chosen.sock.fileno(), select.POLLIN)
                    poller.register(chosen.pidfd, select.POLLIN)
                try:
                    socket.send_fds(chosen.sock, [payload[:8]], [*fds, conn.fileno()])
                    chosen.sock.sendall(payload[8:])
                except OSError:  # the worker just ended: its pidfd tells the launcher how
                    pass
                for stream in fds:
                    os.close(stream)
                chosen.call = conn
                workers[conn.fileno()] = chosen
                poller.register(conn.fileno(), select.POLLIN | select.POLLHUP)
                continue
            worker = workers.get(fd)
            if worker is None:
                continue
            if fd == worker.sock.fileno():
                report = _report(worker.sock)
                if report is None:
                    poller.unregister(fd)  # it ended; its pidfd follows
                    del workers[fd]
                    continue
                status, reuse = report
                answer(worker, status)
                if reuse and len(idle) < IDLE_WORKERS:
                    idle.append(worker)
            elif fd == worker.pidfd:
                report = _report(worker.sock)  # a status sent just before it ended comes first
                _, wait_status = os.waitpid(worker.pid, 0)
                answer(worker, report[0] if report else os.waitstatus_to_exitcode(wait_status))
                forget(worker)
                worker.sock.close()
                os.close(worker.pidfd)
            else:  # the launcher ended (killed by a timeout, say) or exec'd: its call ends too, if it has not
                if workers.pop(fd, None) is not None:
                    poller.unregister(fd)
                if worker.call is not None and worker.call.fileno() == fd:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.pid, signal.SIGKILL)


def listening(path: str, backlog: int):
    """A Unix socket at ``path``, listening; a poller watching it; the pid of the process that started this server.
    Says ``ready`` on stdout, which the starter waits for."""
    import select

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(backlog)
    parent = os.getppid()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    poller = select.poll()
    poller.register(server.fileno(), select.POLLIN)
    return server, poller, parent


def poll_while_parent_lives(poller, parent: int):
    """The poller's events, batch after batch; the process ends when a second passes without any and ``parent``, the
    process that started this server, is gone."""
    while True:
        events = poller.poll(1000)
        if not events and os.getppid() != parent:
            os._exit(0)
        yield events


def _report(sock: socket.socket) -> tuple[int, bool] | None:
    """A worker's (status, can run another call), or None when it ended without one."""
    sock.setblocking(False)
    try:
        data = sock.recv(8)
    except (BlockingIOError, OSError):
        data = b""
    finally:
        sock.setblocking(True)
    if len(data) != 8:
        return None
    status, reuse = struct.unpack("=ii", data)
    return status, bool(reuse)


def _spawn(server: socket.socket, workers: dict[int, _Worker], conn: socket.socket, streams: list[int]) -> _Worker:
    """A new worker, which keeps none of the server's sockets: not the request at hand (``conn`` and the caller's
    ``streams``, which it gets again as its call), nor the other workers' or their launchers'."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        server.close()
        ours.close()
        conn.close()
        for fd in streams:
            os.close(fd)
        for other in set(workers.values()):  # the other workers' sockets and pidfds, their launchers
            other.sock.close()
            os.close(other.pidfd)
            if other.call is not None:
                other.call.close()
        _work(theirs)
    theirs.close()
    return _Worker(pid, ours, os.pidfd_open(pid))


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_request(conn: socket.socket) -> tuple[list[int], bytes] | None:
    """The launcher's three streams and its request (header and strings), or None for one that is not whole."""
    conn.settimeout(5)
    fds: list[int] = []
    try:
        head, fds, _, _ = socket.recv_fds(conn, 12, 3)
        if len(head) < 12:
            head += _recv_exact(conn, 12 - len(head))
        size, argc, envc = struct.unpack("=III", head)
        payload = _recv_exact(conn, size)
    except (OSError, EOFError, struct.error):
        payload, argc, envc = b"", 0, -1
    if len(fds) != 3 or payload.count(b"\0") != 2 + argc + envc:
        for fd in fds:
            os.close(fd)
        return None
    conn.settimeout(None)
    return fds, struct.pack("=II", argc, len(payload)) + payload


# --------------------------------------------------------------------------- a worker


def _work(sock: socket.socket) -> NoReturn:
    """Run calls until one leaves something behind; each call gets the launcher's streams, folder, environment."""
    import gc
    import threading

    gc.enable()  # the frozen server's objects are not visited; a worker lives many calls
    baseline = _open_fds()
    for n in range(CALLS_PER_WORKER):
        try:
            head, fds, _, _ = socket.recv_fds(sock, 8, 4)
            if not head or len(fds) != 4:
                os._exit(0)
            if len(head) < 8:
                head += _recv_exact(sock, 8 - len(head))
            argc, size = struct.unpack("=II", head)
            fields = _recv_exact(sock, size).split(b"\0")[:-1]
        except (OSError, EOFError):
            os._exit(0)
        launcher = socket.socket(fileno=fds[3])
        code = _call(launcher, fds[:3], fields, argc)
        flushed = _flush()
        devnull = os.open(os.devnull, os.O_RDWR)  # the caller's pipes see their end when its launcher exits
        for target in (0, 1, 2):
            os.dup2(devnull, target)
        os.close(devnull)
        launcher.close()
        os.chdir("/")
        reuse = flushed and n + 1 < CALLS_PER_WORKER and threading.active_count() == 1 and _open_fds() == baseline
        try:
            sock.sendall(struct.pack("=ii", code, reuse))
        except OSError:
            os._exit(0)
        if not reuse:
            os._exit(0)
    os._exit(0)


def _open_fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


def _flush() -> bool:
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            ok = False
    return ok


#: the status word that announces an exec request instead of an exit status
EXEC_REQUEST = -(2**31)


def _exec_in_launcher(conn: socket.socket, path: str, argv: list[str]) -> None:
    """``os.execv`` for a fake the server runs: the launcher execs the program itself, so it keeps the caller's
    pid. The worker ends with it: whatever the call left is gone."""
    fields = [os.fsencode(path), *map(os.fsencode, argv), *(k + b"=" + v for k, v in os.environb.items())]
    payload = b"".join(f + b"\0" for f in fields)
    conn.sendall(struct.pack("=iIII", EXEC_REQUEST, len(payload), len(argv), len(os.environb)) + payload)
    exit_flushed(0)


def _call(conn: socket.socket, fds: list[int], fields: list[bytes], argc: int) -> int:
    """Be the fake for one call: the launcher's streams, folder and environment, then the script's code; its
    exit status. A fake that ends its process (a fault, an exec) ends the worker, and the server tells how."""
    import functools
    import random

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    first = sys.__stdin__
    if first is not None:  # a fresh reader: nothing the last caller typed is left read ahead
        sys.stdin = open(0, encoding=first.encoding, errors=first.errors, closefd=False)  # noqa: SIM115 - fd 0 stays open
    ppid, cwd = int(fields[0]), os.fsdecode(fields[1])
    argv = [os.fsdecode(a) for a in fields[2 : 2 + argc]]
    os.environ.clear()
    for item in fields[2 + argc :]:
        key, sep, value = item.partition(b"=")
        if sep:
            os.environb[key] = value
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
            return 126
        sys.argv = argv
        exec(compile(source, argv[0], "exec"), {"__name__": "__main__", "__file__": argv[0]})
        return 0
    except SystemExit as e:
        if isinstance(e.code, int):
            return e.code
        if e.code is not None:
            sys.stderr.write(f"{e.code}\n")
            return 1
        return 0
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1


def exit_flushed(code: int) -> NoReturn:
    """End a forked process with its streams flushed, without tearing down the modules it shares with its server."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
