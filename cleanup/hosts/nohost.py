"""The host of a cloud-only run (``--only cloud --serial SN``): a Mac that was wiped, is offline or far away."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from typing import NoReturn

from cleanup.errors import HostError, SafetyRefusal
from cleanup.hosts.base import CommandResult, Host, Identity, PathInfo
from cleanup.hosts.runlock import RunLock

SPEC = "none"
#: where the run locks of Macs without a host live: one folder of this computer, shared by every state folder
#: and user (sticky like /tmp, so each lock file stays its creator's)
SHARED_LOCKS = "/var/tmp/cleanup-locks"
_KEY_RE = re.compile(r"^[A-Za-z0-9-]{1,80}$")


def _shared_locks_fd() -> int:
    try:
        os.mkdir(SHARED_LOCKS, 0o1777)
        os.chmod(SHARED_LOCKS, 0o1777)  # not narrowed by the umask: every user's runs share it
    except FileExistsError:
        pass
    except OSError as e:
        raise HostError(f"cannot create the shared lock folder {SHARED_LOCKS}: {e.strerror}") from None
    try:
        fd = os.open(SHARED_LOCKS, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as e:
        raise HostError(f"cannot open the shared lock folder {SHARED_LOCKS}: {e.strerror}") from None
    st = os.fstat(fd)
    why = None
    if st.st_uid not in (0, os.geteuid()):
        why = f"it is owned by uid {st.st_uid}"
    elif st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
        why = "anyone can replace its files (world-writable, not sticky)"
    if why:
        os.close(fd)
        raise SafetyRefusal(f"the shared lock folder {SHARED_LOCKS} cannot be trusted: {why}", hint="remove it; the next run recreates it")
    return fd


class NoHost(Host):
    spec = SPEC
    device = False

    def _refuse(self, *_a: object, **_k: object) -> NoReturn:
        raise HostError("this run has no Mac to act on (cloud steps only); name one with --host")

    def run(self, argv: Sequence[str], *, timeout: float = 120, input: str | None = None) -> CommandResult:
        self._refuse()

    def lstat(self, path: str) -> PathInfo | None:
        self._refuse()

    def linked_parent(self, path: str) -> str | None:
        self._refuse()

    def listdir(self, path: str) -> list[str]:
        self._refuse()

    def read_bytes(self, path: str) -> bytes:
        self._refuse()

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self._refuse()

    def remove(self, path: str, expect: Identity | None = None) -> tuple[str, ...]:
        self._refuse()

    def lock_run(self, key: str, holder: str) -> str:
        if not _KEY_RE.match(key):
            raise ValueError(f"invalid lock key {key!r}")
        dir_fd = _shared_locks_fd()
        try:
            try:
                fd = os.open(f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666, dir_fd=dir_fd)
                if os.fstat(fd).st_uid == os.geteuid():
                    os.fchmod(fd, 0o666)  # the other users' runs label it too
            except PermissionError:  # another user's lock file: locking it needs no write access
                fd = os.open(f"{key}.lock", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
        except OSError as e:
            raise HostError(f"cannot open the run lock {SHARED_LOCKS}/{key}.lock: {e.strerror}") from None
        finally:
            os.close(dir_fd)
        self._run_lock = RunLock.take(fd, f"{SHARED_LOCKS}/{key}.lock")
        self._run_lock.label(holder)
        return self._run_lock.previous
