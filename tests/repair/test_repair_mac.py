"""`cleanup repair` on a simulated Mac, device only: the lightest rung for what the diagnosis found, a dry-run that
changes nothing, a paused rung continued by `cleanup repair` again, the full reset only with a person's yes, and bad
input in one line."""

import json
import os
import sys

from cleanup.lab.simmac.psso_repair import repair as psso_repair
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.diagnose import fresh_token
from tests.support.lab import one_error, run_cli
from tests.support.models2026 import ca_calls
from tests.support.ptykit import on_pty
from tests.support.repairkit import ladder, ladder_file, never_registered, psso_user_needs_registration, run_ids, rungs_tried

SERIAL = "C02ZK1ABMD6M"


def repair(mac, *args, state_dir, **kw):
    return run_cli("repair", "--host", f"sim:{mac}", *args, state_dir=state_dir, **kw)


def test_a_device_compliance_user_who_never_registered_gets_the_register_rung(make_mac, state_dir):
    mac = make_mac(scenario="device-compliance", users=["alice"])
    never_registered(mac)
    before = tree_manifest(mac)
    dry = repair(mac, "--dry-run", state_dir=state_dir)
    assert dry.returncode == 0, dry.stderr
    assert "rung register: the registration again as the console user" in dry.stdout
    assert "because workplace-join: no Workplace Join certificate in any login keychain" in dry.stdout
    assert "if it does not verify: cause6" in dry.stdout
    assert "playbook repair-register — dry-run, nothing is changed" in dry.stdout and "registerWithIntune" in dry.stdout
    assert tree_manifest(mac) == before and not state_dir.exists()  # no ladder, no run, no lock

    res = repair(mac, state_dir=state_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[-1] == f"repair of Mac {SERIAL}: verified: the diagnosis finds no problem a rung fixes any more"
    assert [(c["verb"], c["user"], c["uid"]) for c in ca_calls(mac)] == [("registerWithIntune", "alice", 501), ("gatherAADInfo", "alice", 501)]
    assert rungs_tried(state_dir, SERIAL) == [("register", "verified")]
    [run] = run_ids(state_dir)
    assert ladder(state_dir, SERIAL)["attempts"][0]["run_id"] == run
    # a second repair of a verified Mac finds nothing to do and starts nothing
    again = repair(mac, state_dir=state_dir)
    assert again.returncode == 0 and "nothing to repair" in again.stdout and run_ids(state_dir) == [run]


def test_a_platform_sso_user_asked_to_register_again_gets_the_repair_and_repair_continues_it(make_mac, state_dir):
    mac = make_mac(scenario="platform-sso", users=["alice"])
    psso_user_needs_registration(mac)
    first = repair(mac, "--json", state_dir=state_dir)
    assert first.returncode == 3, first.stdout + first.stderr
    envelope = json.loads(first.stdout)
    assert envelope["exit_code"] == 3 and envelope["data"]["choice"]["rung"] == "psso-repair"
    assert envelope["data"]["choice"]["why"] == ["app-sso: alice's Platform SSO state is POUserStateNeedsRegistration (2)"]
    assert [(a["rung"], a["status"]) for a in envelope["data"]["ladder"]["attempts"]] == [("psso-repair", "paused")]
    [run] = run_ids(state_dir)

    # the user has not repaired yet: the same run waits again, no second run
    second = repair(mac, state_dir=state_dir)
    assert second.returncode == 3 and f"continuing its run {run} (paused)" in second.stdout
    assert "`cleanup repair` continues this rung's run" in second.stderr and run_ids(state_dir) == [run]

    psso_repair(mac, "alice")
    done = repair(mac, state_dir=state_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: Platform SSO registered as alice" in done.stdout
    assert run_ids(state_dir) == [run] and rungs_tried(state_dir, SERIAL) == [("psso-repair", "verified")]


def test_cleanup_resume_then_repair_verifies_the_paused_rung(make_mac, state_dir):
    mac = make_mac(scenario="platform-sso", users=["alice"])
    psso_user_needs_registration(mac)
    assert repair(mac, state_dir=state_dir).returncode == 3
    [run] = run_ids(state_dir)
    psso_repair(mac, "alice")
    resumed = run_cli("resume", run, state_dir=state_dir)
    assert resumed.returncode == 0, resumed.stderr
    done = repair(mac, state_dir=state_dir)
    assert done.returncode == 0 and f"rung psso-repair: its run {run} is done" in done.stdout
    assert run_ids(state_dir) == [run] and rungs_tried(state_dir, SERIAL) == [("psso-repair", "verified")]


def _talk(args, answers, state_dir, tmp_path):
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), CLEANUP_CONFIG=str(tmp_path / "no-config.toml"), COLUMNS="200")
    pending, seen = list(answers), [0]

    def respond(screen: str, _fd: int) -> str | None:
        if pending and pending[0][0] in screen[seen[0] :]:
            seen[0] = screen.index(pending[0][0], seen[0]) + len(pending[0][0])
            return pending.pop(0)[1]
        return None

    return on_pty([sys.executable, "-m", "cleanup", *map(str, args)], env, respond)


def test_the_full_reset_is_asked_for_and_refused_without_an_answer(make_mac, state_dir, tmp_path):
    mac = make_mac(scenario="cause4-log", users=["alice"])
    fresh_token(mac)  # nothing lighter to do: only the Cause 4 log, which needs the reset
    before = tree_manifest(mac)
    dry = repair(mac, "--dry-run", state_dir=state_dir)
    assert dry.returncode == 0 and "rung cause6: the full Cause 6 reset" in dry.stdout and "because portal-log-cause4" in dry.stdout

    # no terminal and no --yes: refused, nothing changed
    line = one_error(repair(mac, state_dir=state_dir), 4)
    assert line == f"error: the full Cause 6 reset of Mac {SERIAL} was not confirmed: nobody answered at a terminal; nothing was changed by it"
    assert tree_manifest(mac) == before and run_ids(state_dir) == [] and rungs_tried(state_dir, SERIAL) == [("cause6", "refused")]

    # at a terminal: "no" refuses; "yes" starts the reset, which asks before each destructive step as `cleanup run` does
    code, screen = _talk(["repair", "--host", f"sim:{mac}"], [("run the full Cause 6 reset", "n")], state_dir, tmp_path)
    assert code == 4 and "was not confirmed; nothing was changed by it" in screen and tree_manifest(mac) == before
    code, screen = _talk(["repair", "--host", f"sim:{mac}"], [("run the full Cause 6 reset", "y"), ("Apply these changes?", "n")], state_dir, tmp_path)
    assert code == 1 and "jamf removeMdmProfile" in screen and "not confirmed" in screen, screen
    assert tree_manifest(mac) == before
    assert [r for r, _ in rungs_tried(state_dir, SERIAL)] == ["cause6", "cause6", "cause6"] and len(run_ids(state_dir)) == 1


def test_bad_input_is_one_line(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    assert "'C02*;x' is not an Apple serial number" in one_error(repair(mac, "--serial", "C02*;x", state_dir=state_dir), 2)
    assert "--max-rung 'reset': no such rung" in one_error(repair(mac, "--max-rung", "reset", state_dir=state_dir), 2)
    assert "--only takes device, not 'cloud'" in one_error(repair(mac, "--only", "cloud", state_dir=state_dir), 2)
    assert "cleanup repair works on a Mac" in one_error(run_cli("repair", "--host", "none", state_dir=state_dir), 2)
    assert f"is Mac {SERIAL}; refusing" in one_error(repair(mac, "--serial", "C02ZK1ABMD6N", state_dir=state_dir), 4)
    assert not state_dir.exists()


def test_a_corrupt_ladder_file_is_one_line_and_nothing_runs(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    path = ladder_file(state_dir, SERIAL)
    path.parent.mkdir(parents=True)
    before = tree_manifest(mac)
    for text, says in (
        ("{not json", "is corrupt or truncated (JSONDecodeError); nothing was run"),
        (json.dumps({"format": "cleanup-repair/1", "serial": "C02OTHER0001"}), "is not a repair ladder of Mac C02ZK1ABMD6M"),
        (json.dumps([1, 2]), "not a JSON object"),
    ):
        path.write_text(text)
        for args in ((), ("--dry-run",)):
            line = one_error(repair(mac, *args, state_dir=state_dir), 2)
            assert str(path) in line and says in line, line
    assert tree_manifest(mac) == before and run_ids(state_dir) == []


def test_a_logged_out_users_old_token_is_left_to_them_never_reset(make_mac, state_dir):
    mac = make_mac()  # alice at the console, bob logged out; both with jamfAAD tokens from 2025
    res = repair(mac, "--only", "device", state_dir=state_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rungs_tried(state_dir, SERIAL) == [("register", "verified")]
    assert [(c["verb"], c["user"]) for c in ca_calls(mac)] == [("gatherAADInfo", "alice")]  # alice holds a registration: renewed, not registered again
    assert "left to a person (no rung fixes it): jamfaad-state: jamfAAD's last Azure token for bob" in res.stdout
    assert "The registered user signs in on the Mac" in res.stdout and "cause6" not in res.stdout.split("rung register: verified")[1]


def test_what_the_person_at_the_mac_is_told_follows_the_options_and_the_run_keeps_it(make_mac, state_dir):
    mac = make_mac(scenario="platform-sso", users=["alice"])
    psso_user_needs_registration(mac)
    assert repair(mac, "--notify", "none", state_dir=state_dir).returncode == 3
    assert repair(mac, state_dir=state_dir).returncode == 3  # resumed: the run keeps what it recorded
    [run] = run_ids(state_dir)
    steps = json.loads(run_cli("status", run, "--json", state_dir=state_dir).stdout)["data"]["steps"]
    assert next(s for s in steps if s["id"] == "repair-platform-sso")["data"]["notify"]["mode"] == "none"
    shown = run_cli("lab", "mac", "notifications", mac, state_dir=state_dir)
    assert shown.returncode == 0 and "nothing was shown" in shown.stdout
    assert "--notify takes auto or none, not 'bogus'" in one_error(repair(mac, "--notify", "bogus", state_dir=state_dir), 2)
