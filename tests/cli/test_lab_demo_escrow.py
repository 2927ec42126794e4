"""The demo's Mac has a FileVault key and a LAPS account in Jamf Pro: the demo saves them before step 4, ends by
printing the exact `cleanup escrow show …` command that gives the FileVault key back, and that command works."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.support.lab import run_cli


@pytest.mark.slow
def test_the_demo_prints_a_command_that_gives_the_saved_filevault_key_back(tmp_path, state_dir):
    res = run_cli("lab", "demo", "--keep", tmp_path / "demo", "--wait-seconds", "1", state_dir=state_dir, timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "FileVault personal recovery key, LAPS password of 'jamfadmin'" in out  # saved first, then deleted
    assert "but not fully: Jamf Pro holds no valid FileVault personal recovery key for the new record" in out
    command = out.rstrip().splitlines()[-1].strip()
    assert command.startswith("cleanup escrow show C02ZK1ABMD6M --kind filevault ")
    shown = run_cli(*shlex.split(command)[1:], state_dir=state_dir)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"FileVault personal recovery key: [A-Z0-9]{4}(-[A-Z0-9]{4}){5}\n", shown.stdout)
    assert "LAPS" not in shown.stdout
