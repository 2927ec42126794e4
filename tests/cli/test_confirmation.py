"""At a terminal, the technician confirms the target Mac and each destructive step's plan."""

import os
import pty
import select
import subprocess
import sys
import time

from cleanup.lab.simmac.snapshot import tree_manifest
from tests.conftest import REPO, lab_state


def _talk(args, answers, state_dir, timeout=60):
    """Run cleanup on a pseudo-terminal; answer each prompt (matched by text) in turn. Returns (status, screen)."""
    master, slave = pty.openpty()
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "cleanup", *map(str, args)], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
    os.close(slave)
    screen, pending, end = "", list(answers), time.time() + timeout
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
        if pending and pending[0][0] in screen.split("\n")[-1] + screen[-200:]:
            prompt, reply = pending.pop(0)
            screen = screen.replace(prompt, f"<{prompt}>", 1)
            os.write(master, (reply + "\n").encode())
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=10), screen


def test_declining_a_destructive_step_changes_nothing(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    before = tree_manifest(mac)
    code, screen = _talk(
        ["run", "--host", f"sim:{mac}", "--only", "device", "--to", "3"],
        [("Reset Mac C02ZK1ABMD6M", "y"), ("Apply these changes?", "n")],
        state_dir,
    )
    assert "jamf removeMdmProfile" in screen
    assert code == 1 and "not confirmed" in screen
    assert tree_manifest(mac) == before


def test_confirming_applies_the_step(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    code, screen = _talk(
        ["run", "--host", f"sim:{mac}", "--only", "device", "--to", "2"],
        [("Reset Mac C02ZK1ABMD6M", "y"), ("Apply these changes?", "y")],
        state_dir,
    )
    assert code == 0, screen
    assert lab_state(mac)["mdm"]["enrolled"] is False
