"""Scenarios a technician meets: a non-removable MDM profile, a Mac without Jamf, a Mac already clean; the demo."""

import json
import plistlib

import pytest

from cleanup.actions.reboot import DAEMON_LABEL, resume_daemon_plist
from cleanup.engine.context import RunContext, RunOptions
from cleanup.hosts import open_host
from tests.support.lab import lab_state, run_cli


def _plan(mac, state_dir):
    res = run_cli("plan", "--host", f"sim:{mac}", "--json", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    return {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}


@pytest.mark.slow
def test_non_removable_mdm_profile_blocks_and_names_the_server_side_fix(make_mac, store, state_dir):
    mac = make_mac(scenario="non-removable-mdm", logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", state_dir=state_dir)
    assert res.returncode == 3
    assert "non-removable" in res.stderr and "remove-mdm-profile" in res.stderr
    assert "POST /api/v1/computer-inventory/{id}/remove-mdm-profile" in res.stderr
    state, _ = store.load(store.latest())
    assert state.step("remove-mdm-profile").state == "blocked"
    assert lab_state(mac)["mdm"]["enrolled"] is True
    # Jamf Pro sent the command (here: the lab removes the profile); resume finds it gone and carries on.
    sim = lab_state(mac)
    sim["mdm"]["enrolled"] = False
    (mac / ".lab/state.json").write_text(json.dumps(sim))
    res = run_cli("resume", "--latest", state_dir=state_dir)
    for _ in range(3):
        if res.returncode != 3:
            break
        res = run_cli("resume", "--latest", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert store.load(store.latest())[0].step("remove-mdm-profile").outcome == "no MDM profile is installed"


def test_mac_without_jamf_skips_steps_2_and_3_with_a_reason(make_mac, state_dir):
    steps = _plan(make_mac(scenario="no-jamf"), state_dir)
    assert steps["remove-mdm-profile"]["status"] == "no-op" and steps["remove-mdm-profile"]["noop_reason"] == "no MDM profile is installed"
    assert steps["remove-framework"]["status"] == "no-op" and "not installed" in steps["remove-framework"]["noop_reason"]


def test_clean_mac_plans_nothing_destructive(make_mac, state_dir):
    steps = _plan(make_mac(scenario="clean", logged_out=[]), state_dir)
    for sid in ("remove-files", "purge-keychains", "delete-keychain-entries", "remove-company-portal"):
        assert steps[sid]["status"] == "no-op", (sid, steps[sid])


def test_resume_daemon_runs_this_run_once_and_only_says_yes_if_the_run_did(make_mac, tmp_path):
    mac = make_mac()
    ctx = RunContext(host=open_host(f"sim:{mac}"), options=RunOptions(yes=False), run_id="C02ZK1ABMD6M-20261126T040000Z-abcd", state_dir=str(tmp_path))
    plist = plistlib.loads(resume_daemon_plist(ctx))
    assert plist["Label"] == DAEMON_LABEL and plist["RunAtLoad"] is True and plist["LaunchOnlyOnce"] is True
    args = plist["ProgramArguments"]
    assert args[1:5] == ["-m", "cleanup", "resume", "C02ZK1ABMD6M-20261126T040000Z-abcd"] and "--yes" not in args
    ctx.options.yes = True
    assert "--yes" in plistlib.loads(resume_daemon_plist(ctx))["ProgramArguments"]


@pytest.mark.slow
def test_lab_demo_runs_all_13_steps_device_and_cloud(tmp_path, state_dir):
    res = run_cli("lab", "demo", "--keep", tmp_path / "demo", "--wait-seconds", "1", state_dir=state_dir, timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "bob logs in" in out and "the Mac is back" in out
    assert ": done" in out
    assert "= kept private key 'JAMF'" in out
    assert "- cert '1991d161-0f46-4b3f-9930-b329544a2fb6'" in out
    # the cloud: the old records gone, exactly one new one each, unrelated objects untouched
    assert "Jamf Pro: deleted 1, new 1, kept 0" in out
    assert "Entra ID: deleted 3, new 1, kept 0" in out and "Intune: deleted 3, new 1, kept 0" in out
    assert "15 before, 15 after (untouched)" in out
    assert "verified: Jamf Pro record" in out


def test_lab_mac_create_and_version(tmp_path, state_dir):
    res = run_cli("lab", "mac", "create", tmp_path / "m", "--users", "ann,ben", "--scenario", "secure-enclave", state_dir=state_dir)
    assert res.returncode == 0 and "sim:" in res.stdout
    assert lab_state(tmp_path / "m")["console_user"] == "ann"
    bad = run_cli("lab", "mac", "create", tmp_path / "n", "--scenario", "nope", state_dir=state_dir)
    assert bad.returncode == 2 and "default" in bad.stderr
    v = run_cli("--version", state_dir=state_dir)
    assert v.returncode == 0 and v.stdout.startswith("cleanup ")
