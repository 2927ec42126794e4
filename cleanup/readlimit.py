"""Reading the files a user hands us (config, playbook, checkpoint, audit log, ledger) with a size limit: a path
such as /dev/zero, or a file that grew without bound, gets one clear error instead of an endless read."""

from __future__ import annotations

import os
import stat

from cleanup.errors import UsageError

CONFIG_LIMIT = 1 << 20  # 1 MiB: a config is a few lines
PLAYBOOK_LIMIT = 1 << 20
STATE_LIMIT = 64 << 20  # a checkpoint holds the facts of a Mac with many users and keychains
AUDIT_LIMIT = 256 << 20


def read_bytes(path: str | os.PathLike[str], limit: int, what: str, error: type[UsageError] = UsageError) -> bytes:
    """The whole file, or ``error`` naming ``what`` and the path when it is larger than ``limit`` bytes or is not
    a regular file (a device, a FIFO: reading one could block or never end). OSError is left to the caller."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO would otherwise block the open itself
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{what} {path} is not a regular file")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} {path} is larger than {limit // 1024} KiB; refusing to read it")
    return data


def read_text(path: str | os.PathLike[str], limit: int, what: str, error: type[UsageError] = UsageError) -> str:
    """:func:`read_bytes` decoded as UTF-8; text that is not UTF-8 or holds a NUL byte is ``error``."""
    data = read_bytes(path, limit, what, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None
    if "\x00" in text:
        raise error(f"{what} {path} holds a NUL byte; it is not a text file")
    return text
