"""At a terminal, the technician confirms the target Mac and each destructive step's plan."""

import os
import sys

from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import lab_state
from tests.support.ptykit import on_pty


def _talk(args, answers, state_dir, timeout=60):
    """Run cleanup on a pseudo-terminal; answer each prompt (matched by text) in turn. Returns (status, screen)."""
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="200")
    pending, seen = list(answers), [0]

    def respond(screen: str, _fd: int) -> str | None:
        new = screen[seen[0] :]
        if pending and pending[0][0] in new:
            seen[0] = screen.index(pending[0][0], seen[0]) + len(pending[0][0])
            return pending.pop(0)[1]
        return None

    return on_pty([sys.executable, "-m", "cleanup", *map(str, args)], env, respond, timeout)


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
