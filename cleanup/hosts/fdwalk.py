"""Directory-descriptor walking for LocalHost: classify O_NOFOLLOW failures, remove a tree without following
any link or crossing a mount point, measure a tree. Split out of ``local.py`` to keep each module to one job."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from typing import Any

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
MOUNTINFO = "/proc/self/mountinfo"
_OCTAL = re.compile(r"\\([0-7]{3})")


class Absent(Exception):
    """A parent of the path does not exist (or is not a directory)."""


# what open(O_NOFOLLOW|O_DIRECTORY) reports for a link or non-directory (ELOOP on Linux/macOS; EMLINK on
# FreeBSD; EFTYPE on some BSDs)
_NOFOLLOW_ERRNOS = frozenset(e for e in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK, getattr(errno, "EFTYPE", None)) if e is not None)


def classify_open_error(err: OSError, name: str, dir_fd: int) -> str:
    """Why an O_NOFOLLOW open of ``name`` failed: "link" | "absent" | "notdir" | "other"."""
    if err.errno == errno.ENOENT:
        return "absent"
    if err.errno in _NOFOLLOW_ERRNOS:
        try:
            st = os.lstat(name, dir_fd=dir_fd)
        except (FileNotFoundError, NotADirectoryError):
            return "absent"
        except OSError:
            return "other"
        if stat.S_ISLNK(st.st_mode):
            return "link"
        if not stat.S_ISDIR(st.st_mode):
            return "notdir"
    return "other"


class Fence:
    """Where a walk stops: another file system. A mount on macOS has its own ``st_dev``; on Linux a bind mount of
    the same file system keeps it, so the mount table (``/proc/self/mountinfo``) is asked as well."""

    def __init__(self, dev: int, real_root: str, points: frozenset[str]):
        self.dev = dev
        self.real_root = real_root
        self.points = points

    def crossed(self, mac: str, st: os.stat_result | None = None) -> bool:
        """Whether the entry at Mac path ``mac`` (with its lstat/fstat, when known) is on the other side."""
        real = mac if self.real_root == "/" else self.real_root + mac
        return real in self.points or (st is not None and st.st_dev != self.dev)


def mount_points(table: str = MOUNTINFO) -> frozenset[str]:
    """The mount points the kernel lists (Linux); empty where there is no such table (macOS: ``st_dev`` tells)."""
    try:
        with open(table, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return frozenset()
    # field 5 is the mount point, with space, tab, newline and backslash written as octal escapes
    return frozenset(_OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[4]) for line in lines if len(fields := line.split(" ")) > 4)


def kind_of(mode: int) -> str:
    """The PathInfo kind of an ``st_mode``."""
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def remove_tree_at(parent_fd: int, name: str, mac: str, fence: Fence, verify: Callable[[os.stat_result], None] | None = None) -> list[str]:
    """Remove the directory ``name`` (relative to ``parent_fd``, Mac path ``mac``) and its tree, never following a
    link and never crossing into another file system. Returns the mount points left (Mac paths); the folders
    holding them are left too.

    ``verify`` sees the ``fstat`` of the opened directory (or the ``lstat`` of what replaced it) before anything
    is removed, and raises to stop. Iterative (no recursion limit); every directory is opened with O_NOFOLLOW
    relative to its parent's fd, and every entry is unlinked or removed relative to its own directory's fd.
    """
    # stack frames: [dir_fd_of_parent, name, own_fd, iterator over remaining entries, Mac path, keep]
    stack: list[list[Any]] = []
    left: list[str] = []

    def keep(at: str) -> None:
        left.append(at)
        if stack:
            stack[-1][5] = True

    def push(pfd: int, nm: str, at: str, check: Callable[[os.stat_result], None] | None = None) -> bool:
        if fence.crossed(at):
            keep(at)  # known from the mount table: not even opened
            return False
        try:
            fd = os.open(nm, DIR_FLAGS, dir_fd=pfd)
        except OSError as e:
            if e.errno == errno.ENOENT:
                return False
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                if check is not None:
                    check(os.lstat(nm, dir_fd=pfd))
                # swapped for a link or a file since we looked: remove that entry itself, never its target
                os.unlink(nm, dir_fd=pfd)
                return False
            raise
        try:
            st = os.fstat(fd)
            if check is not None:
                check(st)
            if fence.crossed(at, st):
                os.close(fd)
                keep(at)
                return False
            with os.scandir(fd) as it:
                entries = [(ent.name, ent.is_dir(follow_symlinks=False)) for ent in it]
        except BaseException:
            os.close(fd)
            raise
        stack.append([pfd, nm, fd, iter(entries), at, False])
        return True

    try:
        if not push(parent_fd, name, mac, verify):
            return left
        while stack:
            frame = stack[-1]
            fd = frame[2]
            descended = False
            for ent_name, is_dir in frame[3]:
                at = f"{frame[4]}/{ent_name}"
                if is_dir:
                    if push(fd, ent_name, at):
                        descended = True
                        break
                elif fence.crossed(at):
                    keep(at)  # a file bind-mounted over a file
                else:
                    try:
                        os.unlink(ent_name, dir_fd=fd)
                    except FileNotFoundError:
                        pass
                    except IsADirectoryError:
                        if push(fd, ent_name, at):
                            descended = True
                            break
                    except PermissionError:
                        # Linux reports EISDIR/EPERM for unlink on a directory that replaced a file
                        st = os.lstat(ent_name, dir_fd=fd)
                        if stat.S_ISDIR(st.st_mode):
                            if push(fd, ent_name, at):
                                descended = True
                                break
                            continue
                        raise
            if descended:
                continue
            stack.pop()
            os.close(fd)
            if frame[5]:
                if stack:
                    stack[-1][5] = True  # it holds a mount point: so does its parent
                continue
            try:
                os.rmdir(frame[1], dir_fd=frame[0])
            except FileNotFoundError:
                pass
    finally:
        while stack:
            os.close(stack.pop()[2])
    return left


def measure_tree(local_dir: str, mac_dir: str, fence: Fence) -> tuple[int, list[str]]:
    """Total bytes of regular files under a directory, and the mount points inside it (Mac paths), never
    following links and never measuring another file system."""
    total = 0
    mounts: list[str] = []
    pending = [(local_dir, mac_dir)]
    while pending:
        d, mac = pending.pop()
        try:
            with os.scandir(d) as it:
                for ent in it:
                    at = f"{mac}/{ent.name}"
                    try:
                        if fence.crossed(at):
                            mounts.append(at)
                        elif ent.is_dir(follow_symlinks=False):
                            if fence.crossed(at, ent.stat(follow_symlinks=False)):
                                mounts.append(at)
                            else:
                                pending.append((ent.path, at))
                        elif ent.is_file(follow_symlinks=False):
                            total += ent.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total, sorted(mounts)
