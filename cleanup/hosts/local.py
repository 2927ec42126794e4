"""LocalHost: this Mac (root ``/``) or a simulated Mac (a directory standing in for ``/``).

Every path argument is a *Mac path*: absolute and normalised. It is mapped under ``root``. Anything that
deletes, writes or reads walks the path one component at a time from ``root`` with directory file
descriptors and ``O_NOFOLLOW``, so a symlink anywhere below ``root`` can never redirect the operation.
``root`` itself is trusted (it may sit below a symlink, e.g. ``/tmp`` on macOS).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import stat
import subprocess
from collections.abc import Callable, Sequence

from cleanup.errors import HostError, UnsafePath, UsageError
from cleanup.hosts.base import CommandResult, Host, Identity, PathInfo, checked_argv
from cleanup.hosts.fdwalk import (
    DIR_FLAGS,
    Absent,
    Fence,
    classify_open_error,
    kind_of,
    measure_tree,
    mount_points,
    remove_tree_at,
)

#: the Mac PATH used for commands (each entry is mapped under root)
MAC_PATH = ("/usr/bin", "/bin", "/usr/sbin", "/sbin")

#: the only variables of ours a device command inherits (an allowlist: a new secret variable never leaks)
CHILD_ENV_KEEP = ("HOME", "USER", "LOGNAME", "TMPDIR")

_SIM_MARKER = os.path.join(".lab", "state.json")


def check_mac_path(path: str) -> list[str]:
    """Validate a Mac path and return its components; raise UnsafePath when it is not acceptable.

    Accepted: absolute, normalised (no ``.``/``..``/empty components, no trailing slash), no NUL,
    and not the root itself.
    """
    if not isinstance(path, str):
        raise UnsafePath(f"path must be a string, not {type(path).__name__}: {path!r}")
    if "\0" in path:
        raise UnsafePath(f"path contains a NUL byte: {path!r}")
    if not path.startswith("/"):
        raise UnsafePath(f"path is not absolute: {path!r}")
    if path == "/":
        raise UnsafePath("refusing to act on the root directory '/'")
    if path.endswith("/"):
        raise UnsafePath(f"path has a trailing slash: {path!r}")
    parts = path[1:].split("/")
    for part in parts:
        if part == "":
            raise UnsafePath(f"path has an empty component ('//'): {path!r}")
        if part in (".", ".."):
            raise UnsafePath(f"path has a '{part}' component: {path!r}")
    return parts


def _join(parts: Sequence[str]) -> str:
    return "/" + "/".join(parts)


class LocalHost(Host):
    """This Mac (``root="/"``) or a simulated Mac rooted at a directory."""

    def __init__(self, root: str = "/", spec: str = "local"):
        if not isinstance(root, str) or not root or "\0" in root:
            raise UsageError(f"invalid host root: {root!r}")
        root = os.path.abspath(root)
        self.root = root
        self.spec = spec
        self.this_mac = spec == "local"  # what `--host local` names (a test may root it in a simulated tree)

    def __repr__(self) -> str:
        return f"LocalHost(root={self.root!r}, spec={self.spec!r})"

    # ------------------------------------------------------------------ mapping
    def map_path(self, path: str) -> str:
        """The local filesystem path for a (validated) Mac path."""
        check_mac_path(path)
        if self.root == "/":
            return path
        return self.root + path

    def _map_unchecked(self, path: str) -> str:
        return path if self.root == "/" else self.root + path

    # ------------------------------------------------------------------ commands
    def run(self, argv: Sequence[str], *, timeout: float = 120, input: str | None = None) -> CommandResult:
        argv = checked_argv(argv)
        exe = argv[0]
        if exe.startswith("/"):
            exe = self.map_path(exe)
        real_argv = [exe, *argv[1:]]
        env = self._child_env()
        shown = shlex.join(argv)
        try:
            proc = subprocess.Popen(
                real_argv,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,  # no controlling terminal; lets a timeout kill the whole group
                close_fds=True,
            )
        except (FileNotFoundError, NotADirectoryError):
            return CommandResult(argv, 127, "", f"{argv[0]}: command not found")
        except PermissionError:
            return CommandResult(argv, 126, "", f"{argv[0]}: permission denied (not executable)")
        except OSError as e:
            raise HostError(f"cannot run {shown}: {e.strerror or e}") from None
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(proc)
            raise HostError(f"command timed out after {timeout:g}s: {shown}") from None
        except BaseException:
            self._kill_group(proc)
            raise
        return CommandResult(argv, proc.returncode, out or "", err or "")

    def _child_env(self) -> dict[str, str]:
        """A minimal environment for device commands (and the Jamf policy scripts they start, as root): the
        Mac's system PATH, the C locale for parseable output, who we are; never the operator's secrets."""
        env = {k: os.environ[k] for k in CHILD_ENV_KEEP if k in os.environ}
        env["PATH"] = ":".join(self._map_unchecked(p) for p in MAC_PATH)
        env["LANG"] = env["LC_ALL"] = "C"
        return env

    @staticmethod
    def _kill_group(proc: subprocess.Popen[str]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            try:
                proc.kill()
            except OSError:
                pass
        try:
            proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # ------------------------------------------------------------------ facts
    def lstat(self, path: str) -> PathInfo | None:
        local = self.map_path(path)
        try:
            st = os.lstat(local)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise HostError(f"cannot stat {path}: {e.strerror}") from None
        mode = st.st_mode
        target = None
        mounts: list[str] = []
        if stat.S_ISLNK(mode):
            kind = "link"
            size = st.st_size
            try:
                target = os.readlink(local)
            except OSError as e:
                raise HostError(f"cannot read link {path}: {e.strerror}") from None
        elif stat.S_ISDIR(mode):
            kind = "dir"
            fence = self._fence(os.lstat(os.path.dirname(local)).st_dev)
            size, mounts = (0, [path]) if fence.crossed(path, st) else measure_tree(local, path, fence)
        elif stat.S_ISREG(mode):
            kind = "file"
            size = st.st_size
            mounts = [path] if self._fence(st.st_dev).crossed(path) else []  # a file bind-mounted over it
        else:
            kind = "other"
            size = 0
        return PathInfo(
            path=path, kind=kind, size=size, mode=stat.S_IMODE(mode), uid=st.st_uid, link_target=target, dev=st.st_dev, ino=st.st_ino, mounts=tuple(mounts)
        )

    def linked_parent(self, path: str) -> str | None:
        parts = check_mac_path(path)
        for i in range(1, len(parts)):
            mac = _join(parts[:i])
            try:
                st = os.lstat(self._map_unchecked(mac))
            except (FileNotFoundError, NotADirectoryError):
                return None  # nothing further down can exist, so nothing can be reached through a link
            except OSError as e:
                raise HostError(f"cannot stat {mac}: {e.strerror}") from None
            if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
                return mac
        return None

    def listdir(self, path: str) -> list[str]:
        parts = check_mac_path(path)
        try:
            parent_fd = self._open_parent(path, parts)
        except Absent:
            return []
        try:
            try:
                fd = os.open(parts[-1], DIR_FLAGS, dir_fd=parent_fd)
            except OSError as e:
                kind = classify_open_error(e, parts[-1], parent_fd)
                if kind == "absent":
                    return []
                if kind == "link":
                    raise UnsafePath(f"refusing to list {path}: it is a symlink") from None
                if kind == "notdir":
                    raise HostError(f"cannot list {path}: not a directory") from None
                raise HostError(f"cannot list {path}: {e.strerror}") from None
            try:
                with os.scandir(fd) as it:
                    return sorted(entry.name for entry in it)
            finally:
                os.close(fd)
        finally:
            os.close(parent_fd)

    # ------------------------------------------------------------------ content
    def read_bytes(self, path: str) -> bytes:
        parts = check_mac_path(path)
        try:
            parent_fd = self._open_parent(path, parts)
        except Absent:
            raise HostError(f"cannot read {path}: no such file") from None
        try:
            try:
                fd = os.open(
                    parts[-1],
                    os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                    dir_fd=parent_fd,
                )
            except OSError as e:
                kind = classify_open_error(e, parts[-1], parent_fd)
                if kind == "link":
                    raise UnsafePath(f"refusing to read {path}: it is a symlink") from None
                if kind == "absent":
                    raise HostError(f"cannot read {path}: no such file") from None
                raise HostError(f"cannot read {path}: {e.strerror}") from None
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise HostError(f"cannot read {path}: not a regular file")
                os.set_blocking(fd, True)
                chunks = []
                while True:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
                return b"".join(chunks)
            except OSError as e:
                raise HostError(f"cannot read {path}: {e.strerror}") from None
            finally:
                os.close(fd)
        finally:
            os.close(parent_fd)

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        parts = check_mac_path(path)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes")
        if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
            raise ValueError(f"invalid file mode: {mode!r}")
        name = parts[-1]
        try:
            parent_fd = self._open_parent(path, parts)
        except Absent:
            raise HostError(f"cannot write {path}: parent directory does not exist") from None
        try:
            tmp = None
            for _attempt in range(100):
                candidate = f".{name[:200]}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
                try:
                    fd = os.open(
                        candidate,
                        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                        0o600,
                        dir_fd=parent_fd,
                    )
                except FileExistsError:
                    continue
                except OSError as e:
                    raise HostError(f"cannot write {path}: {e.strerror}") from None
                tmp = candidate
                break
            if tmp is None:
                raise HostError(f"cannot write {path}: no free temporary name")
            try:
                try:
                    view = memoryview(data)
                    while view:
                        n = os.write(fd, view)
                        view = view[n:]
                    os.fchmod(fd, mode)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
                tmp = None
            except OSError as e:
                raise HostError(f"cannot write {path}: {e.strerror}") from None
            finally:
                if tmp is not None:
                    try:
                        os.unlink(tmp, dir_fd=parent_fd)
                    except OSError:
                        pass
            try:
                os.fsync(parent_fd)
            except OSError:
                pass  # some filesystems cannot fsync a directory; the rename is done
        finally:
            os.close(parent_fd)

    # ------------------------------------------------------------------ removal
    def remove(self, path: str, expect: Identity | None = None) -> tuple[str, ...]:
        parts = check_mac_path(path)
        try:
            parent_fd = self._open_parent(path, parts)
        except Absent:
            return ()
        name = parts[-1]
        verify = None if expect is None else _verifier(path, expect)
        try:
            try:
                st = os.lstat(name, dir_fd=parent_fd)
                fence = self._fence(os.fstat(parent_fd).st_dev)
            except (FileNotFoundError, NotADirectoryError):
                return ()
            except OSError as e:
                raise HostError(f"cannot remove {path}: {e.strerror}") from None
            try:
                if stat.S_ISDIR(st.st_mode):
                    # the tree's own directory is checked again once opened: from then on the walk holds its fd
                    return tuple(remove_tree_at(parent_fd, name, path, fence, verify))
                if verify is not None:
                    verify(st)
                if fence.crossed(path):
                    return (path,)
                os.unlink(name, dir_fd=parent_fd)
            except FileNotFoundError:
                return ()
            except OSError as e:
                where = f" ({e.filename})" if getattr(e, "filename", None) and e.filename != name else ""
                raise HostError(f"cannot remove {path}{where}: {e.strerror}") from None
        finally:
            os.close(parent_fd)
        return ()

    def _fence(self, dev: int) -> Fence:
        """The file system a walk stays on: ``dev``, and no mount point the kernel lists."""
        return Fence(dev, os.path.realpath(self.root), mount_points())

    # ------------------------------------------------------------------ run lock
    def lock_run(self, key: str, holder: str) -> str:
        from cleanup.hosts.runlock import MAC_LOCK_DIR, MAC_LOCK_NAME, RunLock

        parts = check_mac_path(MAC_LOCK_DIR)
        try:
            parent_fd = self._open_parent(MAC_LOCK_DIR, parts)
        except Absent:
            raise HostError(f"cannot lock {self.spec}: {MAC_LOCK_DIR} has no parent folder") from None
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(parts[-1], 0o700, dir_fd=parent_fd)
            dir_fd = os.open(parts[-1], DIR_FLAGS, dir_fd=parent_fd)
            try:
                fd = os.open(MAC_LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600, dir_fd=dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:
            raise HostError(f"cannot open the run lock {MAC_LOCK_DIR}/{MAC_LOCK_NAME} on {self.spec}: {e.strerror}") from None
        finally:
            os.close(parent_fd)
        lock = RunLock.take(fd, f"{MAC_LOCK_DIR}/{MAC_LOCK_NAME}")
        lock.label(holder)
        self._run_lock = lock
        return lock.previous

    # ------------------------------------------------------------------ fd walk
    def _open_root(self) -> int:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except OSError as e:
            raise HostError(f"cannot open host root {self.root}: {e.strerror}") from None

    def _open_parent(self, path: str, parts: list[str]) -> int:
        """Open the directory holding ``parts[-1]``, one component at a time from root, never following links.

        Returns an fd the caller must close. Raises UnsafePath when a parent is a symlink, ``Absent`` when a
        parent does not exist or is not a directory (so the path itself cannot exist).
        """
        fd = self._open_root()
        try:
            for i, comp in enumerate(parts[:-1]):
                try:
                    nfd = os.open(comp, DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    kind = classify_open_error(e, comp, fd)
                    mac = _join(parts[: i + 1])
                    if kind == "link":
                        try:
                            target = os.readlink(comp, dir_fd=fd)
                        except OSError:
                            target = "?"
                        raise UnsafePath(
                            f"refusing {path}: parent {mac} is a symlink (-> {target})",
                            hint="a link in the middle of a path could redirect the operation elsewhere",
                        ) from None
                    if kind in ("absent", "notdir"):
                        raise Absent() from None
                    raise HostError(f"cannot open {mac}: {e.strerror}") from None
                os.close(fd)
                fd = nfd
            return fd
        except BaseException:
            os.close(fd)
            raise


_KIND_WORDS = {"file": "file", "dir": "folder", "link": "symlink", "other": "special file"}


def _verifier(path: str, expect: Identity) -> Callable[[os.stat_result], None]:
    """A check that what is at ``path`` now is the object planned: same kind, same device and inode."""

    def verify(st: os.stat_result) -> None:
        kind = kind_of(st.st_mode)
        was, now = _KIND_WORDS.get(expect.kind, expect.kind), _KIND_WORDS[kind]
        hint = "`cleanup resume` plans the step again and shows what is there now"
        if kind != expect.kind:
            raise UnsafePath(
                f"refusing to remove {path}: it was planned as a {was} and is now a {now}; it changed since the plan and is left as it is", hint=hint
            )
        if expect.ino and (st.st_dev, st.st_ino) != (expect.dev, expect.ino):
            raise UnsafePath(f"refusing to remove {path}: it is another {now} than the one planned (replaced since the plan) and is left as it is", hint=hint)

    return verify


def open_sim_host(raw: str) -> LocalHost:
    """The simulated Mac in folder ``raw`` (``sim:DIR`` without its prefix); a UsageError when it is none."""
    if not isinstance(raw, str) or not raw or "\0" in raw:
        raise UsageError("sim:DIR needs a directory (create one with `cleanup lab mac create DIR`)")
    d = os.path.abspath(os.path.expanduser(raw))
    if not os.path.isdir(d) or not os.path.isfile(os.path.join(d, _SIM_MARKER)):
        raise UsageError(f"sim:{raw} is not a simulated Mac (create one with `cleanup lab mac create {raw}`)")
    return LocalHost(d, f"sim:{d}")
