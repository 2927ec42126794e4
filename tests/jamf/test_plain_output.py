"""Output for a log, not a terminal: when stdout is a pipe, `cleanup run` and `resume` print no colour, no cursor
movement and no progress bar, whatever FORCE_COLOR or TTY_COMPATIBLE say, and one line per step."""

from __future__ import annotations

import re

from tests.support.jamfpolicy import ANSI
from tests.support.lab import run_cli

FORCED = {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "TERM": "xterm-256color"}
STEP = re.compile(r"^ ?\d+ [a-z0-9-]+: (✓|‖ paused:|! blocked:|✗ failed:) ")


def test_a_piped_run_and_its_wait_are_plain_lines(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    first = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "2", state_dir=state_dir, env=FORCED)
    assert first.returncode == 3, first.stderr  # paused at the restart
    second = run_cli("resume", "--latest", state_dir=state_dir, env=FORCED)
    assert second.returncode == 0, second.stderr
    for res in (first, second):
        out = res.stdout + res.stderr
        assert ANSI not in out and "\r" not in out and "━" not in out
        steps = [line for line in res.stdout.splitlines() if not line.startswith("     ")]
        assert all(STEP.match(line) or line.startswith(("   waiting until ", "run ")) for line in steps), steps
    ids = [line.split(":")[0].split()[1] for line in first.stdout.splitlines() if STEP.match(line)]
    assert ids[:3] == ["facts", "preflight", "jamf-ca-clean"] and ids[-1] == "restart" and len(ids) == len(set(ids))
    assert re.search(r"^   waiting until \d\d:\d\d:\d\d \(\d+\.\d min\): Wait at least 30 minutes$", second.stdout, re.M)
    assert "\n11 wait-30-minutes: ✓ " in second.stdout
