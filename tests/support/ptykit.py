"""Drive a command on a real pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Callable

from tests.support.lab import REPO


def on_pty(argv: list[str], env: dict, respond: Callable[[str, int], str | None], timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal. After each read, ``respond(screen, master_fd)`` may return a line to
    type (without the newline). Returns (exit status, everything the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
    os.close(slave)
    screen, end = "", time.time() + timeout
    while time.time() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096).decode(errors="replace")
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        reply = respond(screen, master)
        if reply is not None:
            os.write(master, (reply + "\n").encode())
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=10), screen
