"""The messages of a whole Cause 6 reset (device and cloud, against the emulated tenant) as the lab recorded them, and
`cleanup lab mac notifications DIR` printing them."""

from __future__ import annotations

import json

import pytest

from tests.support import cloudlab
from tests.support.lab import drive_cli, run_cli
from tests.support.notifykit import kinds, shown

make_lab = cloudlab.make_lab  # the emulated tenant fixture (tests/notify has no conftest)
REPAIR = "System Settings → Users & Groups → Network Account Server → Edit → Repair (macOS 15.5)"


@pytest.mark.slow
def test_a_legacy_reset_tells_before_the_restart_and_before_the_registration(make_lab, state_dir):
    lab = make_lab("intune-duplicates")
    res, outs = drive_cli(["run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0"], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr[-500:] for o in outs]
    assert kinds(lab.mac) == ["restart", "register"]
    assert [(n["tool"], n["session"], n["answer"]) for n in shown(lab.mac)] == [("osascript", "alice", "Restart now"), ("jamfHelper", "alice", "OK")]
    out = run_cli("lab", "mac", "notifications", lab.mac, state_dir=state_dir)
    assert out.returncode == 0, out.stderr
    assert "1. osascript as alice in alice's session, timeout 300 s: answered 'Restart now'" in out.stdout
    assert "2. jamfHelper as root in alice's session, timeout 120 s: answered 'OK'" in out.stdout
    assert "buttons: Restart now | Defer" in out.stdout
    data = json.loads(run_cli("lab", "mac", "notifications", lab.mac, "--json", state_dir=state_dir).stdout)["data"]
    assert data["notifications"] == shown(lab.mac)


@pytest.mark.slow
def test_a_platform_sso_reset_tells_the_user_how_to_repair_each_time_it_waits_for_it(make_lab, state_dir):
    lab = make_lab("platform-sso", mac_scenario="platform-sso")
    res, outs = drive_cli(["run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0"], lab.env(), state_dir, rounds=3)
    assert res.returncode == 3 and "repair Platform SSO as alice" in res.stderr, res.stderr[-800:]
    assert "at the Mac: told alice with" in res.stderr
    assert kinds(lab.mac)[:2] == ["restart", "psso-repair"] and set(kinds(lab.mac)[1:]) == {"psso-repair"}
    repair = shown(lab.mac)[1]["message"]
    assert repair == f"This Mac's single sign-on registration must be repaired by alice: {REPAIR}, and sign in with your work account."
    asked = len(shown(lab.mac))
    assert run_cli("lab", "mac", "psso-repair", lab.mac, "--user", "alice", state_dir=state_dir).returncode == 0
    res, outs = drive_cli(["resume", "--latest"], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr[-500:] for o in outs]
    assert kinds(lab.mac)[asked:] == ["register"]  # repaired: not asked again
