"""Bind and tmpfs mounts for the tests that check a run never crosses into another file system."""

from __future__ import annotations

import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted(kind: str, target: Path, source: Path | None = None):
    """``mount --bind source target`` or a tmpfs at ``target``; always unmounted again."""
    target = target.resolve()  # unmounted by its real path, whatever a run did to links on the way
    argv = ["mount", "--bind", str(source), str(target)] if kind == "bind" else ["mount", "-t", "tmpfs", "cleanup-test", str(target)]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        pytest.skip("no mount(8) on this machine")
    if res.returncode != 0:
        pytest.skip(f"mounting is not permitted here ({' '.join(argv[:3])}: {res.stderr.strip()})")
    try:
        yield target
    finally:
        if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def is_mount(path: Path) -> bool:
    """Whether the kernel lists ``path`` as a mount point (os.path.ismount misses a bind mount of the same disk)."""
    real = str(path.resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split(" ")[4] for line in f]
    return real in [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), p) for p in points]
