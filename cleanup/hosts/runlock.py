"""The run lock kept on the Mac itself (and, for a run without a Mac, one per serial shared by every state folder).

One exclusive flock, never waited for, on a small file whose text is JSON: while held, who holds it (pid, run,
state folder); once released, the unfinished run a later ``cleanup run`` must know about, or nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat

from cleanup.errors import LockHeld, UnsafePath

#: the Mac path of the lock: a folder of the Mac's own, whatever state folder a run uses
MAC_LOCK_DIR = "/Library/Application Support/cleanup"
MAC_LOCK_NAME = "mac.lock"


def describe(text: str) -> str:
    """A lock's text for people: ``pid 123, run SN-…, state folder /x``."""
    try:
        note = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "another process"
    if not isinstance(note, dict):
        return "another process"
    parts = [
        f"pid {note['pid']}" if note.get("pid") else "",
        f"run {note['run']}" if note.get("run") else "",
        f"state folder {note['state_dir']}" if note.get("state_dir") else "",
    ]
    return ", ".join(p for p in parts if p) or "another process"


class RunLock:
    """A taken lock on an open file descriptor; closing the descriptor (or the process ending) releases it."""

    def __init__(self, fd: int, previous: str):
        self.fd = fd
        self.previous = previous

    @classmethod
    def take(cls, fd: int, where: str) -> RunLock:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                raise UnsafePath(f"{where} is not a plain lock file (a second link or not a regular file); refusing")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = describe(_text(fd))
                raise LockHeld(f"another cleanup run is acting on this Mac ({holder}); refusing to start a second one") from None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, _text(fd))

    def label(self, text: str) -> None:
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, text.encode(), 0)
        except OSError:
            pass  # opened read-only (a lock file another user created): the lock holds, the label is lost

    def release(self, text: str) -> None:
        self.label(text)
        os.close(self.fd)


def _text(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode(errors="replace")
