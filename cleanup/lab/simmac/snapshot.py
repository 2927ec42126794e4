"""Snapshots of a directory tree, to prove what a run changed (or that a dry-run changed nothing)."""

from __future__ import annotations

import hashlib
import os
import stat as _stat


def tree_manifest(root) -> dict[str, tuple]:
    """Map every path under ``root`` (relative, '/'-separated; files, dirs, links; links never followed)
    to ``(kind, mode bits, sha256)``: kind is file|dir|link|other, sha256 is of the content (file) or the
    link text (link), "" for dirs and others. The root itself is not listed."""
    root = os.fspath(root)
    out: dict[str, tuple] = {}

    def walk(hdir: str, rel: str) -> None:
        with os.scandir(hdir) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            r = f"{rel}{e.name}"
            st = e.stat(follow_symlinks=False)
            mode = _stat.S_IMODE(st.st_mode)
            if _stat.S_ISLNK(st.st_mode):
                out[r] = ("link", mode, hashlib.sha256(os.fsencode(os.readlink(e.path))).hexdigest())
            elif _stat.S_ISDIR(st.st_mode):
                out[r] = ("dir", mode, "")
                walk(e.path, r + "/")
            elif _stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(e.path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out[r] = ("file", mode, h.hexdigest())
            else:
                out[r] = ("other", mode, "")

    walk(root, "")
    return out


def tree_digest(root) -> str:
    """One sha256 over the whole manifest."""
    h = hashlib.sha256()
    for path, (kind, mode, digest) in sorted(tree_manifest(root).items()):
        h.update(f"{path}\0{kind}\0{mode:o}\0{digest}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def diff_manifests(before: dict, after: dict) -> tuple[list[str], list[str], list[str]]:
    """(removed, added, changed) sorted path lists."""
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    return removed, added, changed
