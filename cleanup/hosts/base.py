"""The Host interface: where device commands run and device paths are read or removed.

Paths given to a Host are always *Mac paths* (``/Library/...``, ``/Users/alice/...``). A host rooted
elsewhere (the simulated Mac) maps them under its root; the product never sees the difference.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, Unpack

if TYPE_CHECKING:
    from cleanup.hosts.runlock import RunLock

LAUNCHCTL = "/bin/launchctl"
SUDO = "/usr/bin/sudo"
SYSCTL = "/usr/sbin/sysctl"
STAT = "/usr/bin/stat"


class RunKw(TypedDict, total=False):
    """The keyword arguments of :meth:`Host.run`, passed on as given by :meth:`Host.run_as_user`."""

    timeout: float
    input: str | None


def checked_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """An argv list as a tuple of strings; a shell string, an empty list or a non-string item is a bug."""
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list of strings, not a single string (no shell is used)")
    argv = tuple(argv)
    if not argv:
        raise TypeError("argv must not be empty")
    for a in argv:
        if not isinstance(a, str):
            raise TypeError(f"argv items must be str, not {type(a).__name__}")
    return argv


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class Identity:
    """Which object a path named when it was looked at: its kind and its file system object (device, inode)."""

    kind: str
    dev: int
    ino: int


@dataclass(frozen=True)
class PathInfo:
    """What ``lstat`` saw at a Mac path; the final component is never followed."""

    path: str
    kind: str  # "file" | "dir" | "link" | "other"
    size: int  # bytes; for a directory the total of its tree (links counted as links, never followed)
    mode: int  # permission bits (st_mode & 0o7777)
    uid: int
    link_target: str | None = None  # for kind == "link": the raw target text
    dev: int = 0
    ino: int = 0
    #: mount points at or inside ``path`` (Mac paths): another file system, never measured or removed
    mounts: tuple[str, ...] = ()

    @property
    def identity(self) -> Identity:
        return Identity(self.kind, self.dev, self.ino)


@dataclass(frozen=True)
class LocalUser:
    name: str
    uid: int
    home: str


class Host(ABC):
    """A Mac the tool acts on.

    Callers ask a host what it can do, never what its spec looks like: ``device`` (there is a Mac),
    ``this_mac`` (the Mac this process runs on: a boot-time daemon can resume the run there),
    ``reconnects_after_restart`` (the tool can wait through the Mac's restart and go on), and ``close()``.
    """

    #: how the host was named on the command line (``local``, ``sim:/path``)
    spec: str
    #: False for the stand-in of a cloud-only run: device steps are left out
    device: bool = True
    #: True only for the real Mac this process runs on (``local``), never a simulated or remote one
    this_mac: bool = False
    #: True where the tool can wait through a restart of the Mac and continue in the same process (over SSH)
    reconnects_after_restart: bool = False

    def close(self) -> None:  # noqa: B027 - a default that does nothing on purpose: most hosts hold nothing open
        """Release what the host holds open (a connection); the host may be used again afterwards."""

    @abstractmethod
    def run(self, argv: Sequence[str], *, timeout: float = 120, input: str | None = None) -> CommandResult:
        """Run an argv list (never a shell string). A missing executable gives returncode 127."""

    @abstractmethod
    def lstat(self, path: str) -> PathInfo | None:
        """Facts about ``path`` without following its final component; None when absent."""

    @abstractmethod
    def linked_parent(self, path: str) -> str | None:
        """The first parent directory of ``path`` that is a symlink (or not a directory), else None."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names in a directory (not following a link at ``path``); [] when absent."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes: ...

    @abstractmethod
    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Create or replace a regular file atomically; parents must exist and not be links."""

    @abstractmethod
    def remove(self, path: str, expect: Identity | None = None) -> tuple[str, ...]:
        """Remove a file, a symlink (as a link) or a directory tree, never following any link.

        Refuses (raises ``UnsafePath``) when a parent component is a symlink, so nothing outside the
        path the caller checked can be touched, and when ``expect`` is given and the path is no longer that
        object (another kind, device or inode). Absent path: no error. Never crosses into another file system:
        mount points (and the folders holding them) are left, and returned as Mac paths.
        """

    def lock_run(self, key: str, holder: str) -> str:
        """Take this Mac's run lock, held by this process (over SSH: by the Mac's host agent) until ``unlock_run``
        or the holder's end, whatever state folder the run uses. ``key`` (the serial) names the lock where there is
        no Mac. Returns the lock's text from before (see cleanup.hosts.runlock); LockHeld names the holder."""
        raise NotImplementedError

    #: the run lock this process holds, for hosts that hold it themselves (not over SSH: the agent does)
    _run_lock: RunLock | None = None

    def label_run_lock(self, text: str) -> None:
        """Replace the held lock's text (who holds it)."""
        if self._run_lock is not None:
            self._run_lock.label(text)

    def unlock_run(self, note: str) -> None:
        """Leave ``note`` (an unfinished run, or "") in the lock and release it; no-op when not held."""
        lock, self._run_lock = self._run_lock, None
        if lock is not None:
            lock.release(note)

    def boot_time(self) -> int:
        """``kern.boottime`` in epoch seconds: it changes when the Mac restarts."""
        from cleanup.errors import HostError
        from cleanup.parsers.sysinfo import parse_boottime

        res = self.run([SYSCTL, "-n", "kern.boottime"])
        try:
            if not res.ok:
                raise ValueError(res.stderr.strip())
            return parse_boottime(res.stdout)
        except ValueError:
            raise HostError(f"cannot read the boot time of {self.spec} (sysctl exit {res.returncode}): {res.stdout.strip()[:80]!r}") from None

    def console_user(self) -> str | None:
        """Short name of the user logged in at the console; None at the login window."""
        from cleanup.errors import HostError

        res = self.run([STAT, "-f", "%Su", "/dev/console"])
        if not res.ok:
            raise HostError(f"cannot tell who is logged in on {self.spec} (stat exit {res.returncode})")
        name = res.stdout.strip()
        return None if name in ("", "root", "loginwindow") else name

    def run_as_user(self, user: LocalUser, argv: Sequence[str], **kw: Unpack[RunKw]) -> CommandResult:
        """Run in ``user``'s login session, as that user (needed for login keychains, ``open``)."""
        wrapped = [LAUNCHCTL, "asuser", str(user.uid), SUDO, "-u", user.name, *argv]
        return self.run(wrapped, **kw)
