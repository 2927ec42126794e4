"""scripts/jamf/cleanup-policy.sh run as a Jamf Pro policy runs it (`sh script / MBP-ALICE alice $4 … $11`) against a
simulated Mac: the device half of the reset, paused at the restart, resumed (never started again), a log Jamf's
policy log can show, and strict parameters."""

from __future__ import annotations

import fcntl
import os
import re

import pytest

from cleanup.lab.simmac.snapshot import tree_manifest
from cleanup.lab.simmac.tool_notify import notifications
from tests.support.jamfpolicy import ANSI, run_policy, run_state, runs, script_env
from tests.support.lab import lab_state

STEP_LINE = re.compile(r"^\[(?P<rid>[A-Z0-9]+-\d{8}T\d{6}Z-[0-9a-f]{4})\] +(?P<number>\d+) (?P<id>[a-z0-9-]+): (?P<rest>.*)$")


def _last(res) -> str:
    return res.stdout.rstrip("\n").splitlines()[-1]


def test_dry_run_changes_nothing_and_starts_no_run(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    before = tree_manifest(mac)
    res = run_policy(mac, state_dir, "dry-run", "6")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _last(res) == "cleanup-policy: dry-run done: nothing was changed"
    assert "cleanup plan --playbook cause6 --only device --from 6 --to 6" in res.stdout
    assert "Delete the Company Portal, Self Service and jamfAAD files" in res.stdout  # step 6, planned
    assert " 7 purge-keychains: excluded by --only/--from/--to" in res.stdout
    assert tree_manifest(mac) == before and runs(state_dir) == []


@pytest.mark.slow
def test_a_reset_pauses_at_the_restart_then_the_policy_resumes_the_same_run(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    boot = lab_state(mac)["boottime"]
    first = run_policy(mac, state_dir, "reset", "all", "0")
    assert first.returncode == 0, first.stdout + first.stderr
    [rid] = runs(state_dir)
    assert _last(first).startswith(f"cleanup-policy: paused, not failed: run {rid}: the Mac is restarting")
    assert _last(first).endswith(f"next: the Mac restarts; run this policy again once it is back: it resumes run {rid}")
    assert lab_state(mac)["boottime"] != boot  # the Mac did restart
    assert run_state(state_dir, rid)["status"] == "paused"

    second = run_policy(mac, state_dir, "reset", "all", "0")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"cleanup-policy: resuming run {rid} of this Mac" in second.stdout
    assert _last(second) == f"cleanup-policy: run {rid}: done"
    assert runs(state_dir) == [rid] and run_state(state_dir, rid)["status"] == "done"
    steps = {m["id"] for line in second.stdout.splitlines() if (m := STEP_LINE.match(line))}
    assert {"remove-company-portal", "re-enroll", "start-registration"} <= steps
    assert not steps & {"remove-mdm-profile", "purge-keychains"}  # done before the restart: not again

    third = run_policy(mac, state_dir, "reset", "all", "0")  # e.g. the new record's "once per computer"
    assert third.returncode == 0 and "nothing to do (no new run)" in _last(third), third.stdout
    assert runs(state_dir) == [rid]


@pytest.mark.slow
def test_the_log_is_plain_one_line_per_step_with_the_run_id(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    env = script_env(mac, state_dir, FORCE_COLOR="1", TTY_COMPATIBLE="1", TERM="xterm-256color")  # plain regardless
    res = run_policy(mac, state_dir, "reset", "all", "0", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    [rid] = runs(state_dir)
    assert ANSI not in res.stdout + res.stderr and "━" not in res.stdout
    lines = res.stdout.splitlines()
    assert lines[0].startswith("cleanup-policy: MBP-ALICE (console user alice): mode reset, steps all, wait 0 min")
    body = [line for line in lines if not line.startswith("cleanup-policy: ")]
    assert body and all(line.startswith(f"[{rid}] ") for line in body)  # every line of cleanup's names the run
    steps = [m for line in body if (m := STEP_LINE.match(line))]
    ran = [s["id"] for s in run_state(state_dir, rid)["steps"] if s["state"] not in ("pending", "excluded")]
    assert [m["id"] for m in steps] == ran  # one line per step, in order
    assert steps[-1]["id"] == "restart" and steps[-1]["rest"].startswith("‖ paused: the Mac is restarting")
    assert all(m["rest"].startswith("✓ ") for m in steps[:-1])
    logged = (state_dir / "cleanup-policy.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in logged] == lines  # the same lines, each stamped
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in logged)


@pytest.mark.slow
def test_the_notify_parameters_reach_the_person_at_the_mac(make_mac, state_dir):
    told = make_mac("told", users=["alice"])
    res = run_policy(told, state_dir / "told", "reset", "all", "0", "auto", "Maintenance: your Mac restarts now", "", "0")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "--notify auto --notify-text restart=Maintenance: your Mac restarts now --deferrals 0" in res.stdout
    shown = [n for n in notifications(told) if "Maintenance: your Mac restarts now" in str(n)]
    assert shown, notifications(told)
    quiet = make_mac("quiet", users=["alice"])
    res = run_policy(quiet, state_dir / "quiet", "reset", "all", "0", "none")
    assert res.returncode == 0, res.stdout + res.stderr
    assert notifications(quiet) == []


BAD = {
    "a target volume": (("/Volumes/Other",), "the target volume is /Volumes/Other"),
    "a mode": (("/", "MBP-ALICE", "alice", "Reset!"), "parameter 4 (mode) is 'Reset!'"),
    "a mode of two lines": (("/", "MBP-ALICE", "alice", "reset\nrm -rf /"), "parameter 4 (mode) is 'reset?rm -rf /'"),
    "a path as playbook": (("/", "MBP-ALICE", "alice", "../evil"), "parameter 4 (mode) is '../evil'"),
    "a reversed range": (("/", "MBP-ALICE", "alice", "reset", "9-2"), "parameter 5 (steps) is '9-2'"),
    "steps by name": (("/", "MBP-ALICE", "alice", "reset", "restart"), "parameter 5 (steps) is 'restart'"),
    "a fractional wait": (("/", "MBP-ALICE", "alice", "reset", "all", "1.5"), "parameter 6 (wait) is '1.5'"),
    "a wait of 8 days": (("/", "MBP-ALICE", "alice", "reset", "all", "11520"), "parameter 6 (wait) is '11520'"),
    "a notify mode": (("/", "MBP-ALICE", "alice", "reset", "all", "", "loud"), "parameter 7 (notify) is 'loud'"),
    "a text of two lines": (("/", "MBP-ALICE", "alice", "reset", "all", "", "auto", "one\ntwo"), "parameter 8 (restart text) holds a control character"),
    "a text like an option": (("/", "MBP-ALICE", "alice", "reset", "all", "", "auto", "", "--help"), "parameter 9 (register text) begins with -"),
    "too many deferrals": (("/", "MBP-ALICE", "alice", "reset", "all", "", "", "", "", "21"), "parameter 10 (deferrals) is '21'"),
    "an option not allowed": (("/", "MBP-ALICE", "alice", "reset", "all", "", "", "", "", "", "--no-autoresume"), "only --serial SN and --skip STEP"),
    "a bad serial": (("/", "MBP-ALICE", "alice", "reset", "all", "", "", "", "", "", "--serial c02;rm"), "--serial c02;rm is not an Apple serial"),
    "an option without value": (("/", "MBP-ALICE", "alice", "reset", "all", "", "", "", "", "", "--skip"), "--skip needs a value"),
    "steps for a repair": (("/", "MBP-ALICE", "alice", "repair", "2-3"), "parameter 5 (steps) does not apply to mode repair"),
    "texts for a repair": (("/", "MBP-ALICE", "alice", "repair", "", "", "auto"), "parameters 7-10 (notify, texts, deferrals) do not apply"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_parameter_is_one_line_exit_1_and_nothing_runs(make_mac, state_dir, case):
    import subprocess

    from tests.support.jamfpolicy import POLICY, REPO

    args, message = BAD[case]
    mac = make_mac(users=["alice"])
    before = tree_manifest(mac)
    res = subprocess.run(["sh", str(POLICY), *args], capture_output=True, text=True, env=script_env(mac, state_dir), cwd=REPO, timeout=60)
    assert res.returncode == 1 and res.stderr == "", res.stderr
    [line] = res.stdout.splitlines()
    assert line.startswith("cleanup-policy: ") and message in line, line
    assert tree_manifest(mac) == before and runs(state_dir) == []


def test_without_cleanup_the_policy_fails_in_one_line(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    env = script_env(mac, state_dir, PATH="/usr/bin:/bin")
    del env["CLEANUP_BIN"]
    res = run_policy(mac, state_dir, "reset", env=env)
    assert res.returncode == 1
    assert res.stdout == "cleanup-policy: cleanup is not installed: no CLEANUP_BIN, no cleanup on PATH, no /Library/Management/cleanup/cleanup.pyz\n"


@pytest.mark.slow
def test_a_run_another_process_is_resuming_is_not_a_failure(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    assert run_policy(mac, state_dir, "reset", "all", "0").returncode == 0  # paused at the restart
    [rid] = runs(state_dir)
    lock = mac / "Library/Application Support/cleanup/mac.lock"
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the boot-time resume holds it
        res = run_policy(mac, state_dir, "reset", "all", "0")
    finally:
        os.close(fd)
    assert res.returncode == 0, res.stdout
    assert _last(res).startswith(f"cleanup-policy: run {rid} is in progress in another process (another cleanup run is acting on this Mac")
    assert run_state(state_dir, rid)["status"] == "paused"


def test_a_failure_exits_1_and_the_last_line_says_why(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    res = run_policy(mac, state_dir, "no-such-playbook")
    assert res.returncode == 1, res.stdout
    assert _last(res).startswith("cleanup-policy: failed (cleanup exit 2): ") and "no-such-playbook" in _last(res)
    assert runs(state_dir) == []


def test_mode_repair_runs_cleanup_repair_on_the_mac_alone(make_mac, state_dir):
    mac = make_mac(users=["alice"])  # jamfAAD's token is old: the lightest rung, the registration again, fixes it
    res = run_policy(mac, state_dir, "repair")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"cleanup-policy: cleanup repair --only device --yes --host sim:{mac}" in res.stdout
    assert "\nrung register: verified\n" in res.stdout  # a repair may run several runs: its lines name no one run
    assert _last(res) == "cleanup-policy: the repair: done"
