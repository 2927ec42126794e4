"""Directory-descriptor walking for LocalHost: classify O_NOFOLLOW failures, remove a tree without following
any link, measure a tree. Split out of ``local.py`` to keep each module to one job."""

from __future__ import annotations

import errno
import os
import stat

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Absent(Exception):
    """A parent of the path does not exist (or is not a directory)."""


# what open(O_NOFOLLOW|O_DIRECTORY) reports for a link or non-directory (ELOOP on Linux/macOS; EMLINK on
# FreeBSD; EFTYPE on some BSDs)
_NOFOLLOW_ERRNOS = frozenset(
    e for e in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK, getattr(errno, "EFTYPE", None)) if e is not None
)


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


def remove_tree_at(parent_fd: int, name: str) -> None:
    """Remove the directory ``name`` (relative to ``parent_fd``) and its tree, never following a link.

    Iterative (no recursion limit); every directory is opened with O_NOFOLLOW relative to its parent's fd,
    and every entry is unlinked or removed relative to its own directory's fd.
    """
    # stack frames: [dir_fd_of_parent, name, own_fd, iterator over remaining entries]
    stack: list[list] = []

    def push(pfd: int, nm: str) -> bool:
        try:
            fd = os.open(nm, DIR_FLAGS, dir_fd=pfd)
        except OSError as e:
            if e.errno == errno.ENOENT:
                return False
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                # swapped for a link or a file since we looked: remove that entry itself, never its target
                os.unlink(nm, dir_fd=pfd)
                return False
            raise
        try:
            with os.scandir(fd) as it:
                entries = [(ent.name, ent.is_dir(follow_symlinks=False)) for ent in it]
        except BaseException:
            os.close(fd)
            raise
        stack.append([pfd, nm, fd, iter(entries)])
        return True

    try:
        if not push(parent_fd, name):
            return
        while stack:
            frame = stack[-1]
            fd = frame[2]
            descended = False
            for ent_name, is_dir in frame[3]:
                if is_dir:
                    if push(fd, ent_name):
                        descended = True
                        break
                else:
                    try:
                        os.unlink(ent_name, dir_fd=fd)
                    except FileNotFoundError:
                        pass
                    except IsADirectoryError:
                        if push(fd, ent_name):
                            descended = True
                            break
                    except PermissionError:
                        # Linux reports EISDIR/EPERM for unlink on a directory that replaced a file
                        st = os.lstat(ent_name, dir_fd=fd)
                        if stat.S_ISDIR(st.st_mode) and push(fd, ent_name):
                            descended = True
                            break
                        raise
            if descended:
                continue
            stack.pop()
            os.close(fd)
            try:
                os.rmdir(frame[1], dir_fd=frame[0])
            except FileNotFoundError:
                pass
    finally:
        while stack:
            os.close(stack.pop()[2])


def tree_size(local_dir: str) -> int:
    """Total bytes of regular files under a directory, never following links."""
    total = 0
    pending = [local_dir]
    while pending:
        d = pending.pop()
        try:
            with os.scandir(d) as it:
                for ent in it:
                    try:
                        if ent.is_dir(follow_symlinks=False):
                            pending.append(ent.path)
                        elif ent.is_file(follow_symlinks=False):
                            total += ent.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total
