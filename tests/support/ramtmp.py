"""Where the test session keeps its temporary folders: in memory when the machine has a tmpfs (tests/conftest.py)."""

from __future__ import annotations

import os

RAM_TMP = "/dev/shm"
MIN_FREE = 2 << 30  # the suite's folders take a few hundred MB; leave the machine its memory


def usable() -> bool:
    """A tmpfs at RAM_TMP that this user may write, with MIN_FREE bytes free, unless CLEANUP_TESTS_DISK_TMP=1."""
    if os.environ.get("CLEANUP_TESTS_DISK_TMP") == "1" or not _is_tmpfs(RAM_TMP):
        return False
    try:
        fs = os.statvfs(RAM_TMP)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize >= MIN_FREE and os.access(RAM_TMP, os.W_OK | os.X_OK)


def _is_tmpfs(path: str) -> bool:
    try:
        with open("/proc/mounts") as f:
            return any(fields[1] == path and fields[2] == "tmpfs" for fields in (line.split() for line in f) if len(fields) > 2)
    except OSError:
        return False
