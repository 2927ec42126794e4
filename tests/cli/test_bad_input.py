"""Bad input: one clear error line, a non-zero exit, and nothing changed on the Mac or in the state store."""

import json

import pytest

from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import REPO, lab_state, one_error, run_cli, set_lab_state


def runs(state_dir):
    d = state_dir / "runs"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_malformed_playbook_file(tmp_path, make_mac, state_dir):
    mac = make_mac()
    bad = tmp_path / "broken.toml"
    bad.write_text("[playbook]\nname = 'x'\n[[steps]\n")
    before = tree_manifest(mac)
    line = one_error(run_cli("run", "--playbook", bad, "--host", f"sim:{mac}", "--yes", state_dir=state_dir), 2)
    assert "broken.toml: malformed TOML" in line
    assert tree_manifest(mac) == before and runs(state_dir) == []


def test_playbook_path_escaping_the_allowed_roots(tmp_path, make_mac, state_dir):
    mac = make_mac()
    text = (REPO / "playbooks/cause6.toml").read_text()
    text = text.replace('"/Library/Preferences/com.microsoft.CompanyPortal.plist",', '"/Library/Preferences/../../private/etc/sudoers",')
    bad = tmp_path / "escape.toml"
    bad.write_text(text)
    before = tree_manifest(mac)
    line = one_error(run_cli("run", "--playbook", bad, "--host", f"sim:{mac}", "--yes", state_dir=state_dir), 2)
    assert "step 6 (remove-files): params.paths" in line and "not normalised" in line
    assert tree_manifest(mac) == before and runs(state_dir) == []


def test_unsafe_user_name_in_the_user_database(make_mac, state_dir):
    mac = make_mac(scenario="unsafe-username")
    before = tree_manifest(mac)
    for args in (("plan",), ("run", "--yes")):
        line = one_error(run_cli(*args, "--host", f"sim:{mac}", state_dir=state_dir), 4)
        assert "'../root'" in line
    assert tree_manifest(mac) == before and runs(state_dir) == []


@pytest.mark.parametrize("content", ["{not json", '{"format": "cleanup-run/1", "run_id": ', '{"format": "something-else/3"}', "[]"])
def test_corrupt_truncated_or_foreign_state(make_mac, store, state_dir, content):
    mac = make_mac(logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "3", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    run_id = store.latest()
    state_file = store.run_dir(run_id) / "state.json"
    state_file.write_text(content)
    before = tree_manifest(mac)
    line = one_error(run_cli("resume", run_id, state_dir=state_dir), 2)
    assert "state" in line and ("corrupt" in line or "not a cleanup run state" in line or "damaged" in line)
    assert tree_manifest(mac) == before


def test_state_of_another_run_is_refused(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    assert run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", state_dir=state_dir).returncode == 0
    assert run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", state_dir=state_dir).returncode == 0
    a, b = store.run_ids()
    (store.run_dir(b) / "state.json").write_bytes((store.run_dir(a) / "state.json").read_bytes())
    line = one_error(run_cli("resume", b, state_dir=state_dir), 2)
    assert f"belongs to run '{a}'" in line


def test_resuming_a_run_of_another_mac(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    other = make_mac("other", logged_out=[])
    set_lab_state(other, serial="C02OTHERMAC1")
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "3", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    before = tree_manifest(other)
    line = one_error(run_cli("resume", store.latest(), "--host", f"sim:{other}", state_dir=state_dir), 4)
    assert "belongs to Mac C02ZK1ABMD6M" in line and "C02OTHERMAC1" in line
    assert tree_manifest(other) == before


def test_serial_given_must_match(make_mac, state_dir):
    mac = make_mac()
    before = tree_manifest(mac)
    line = one_error(run_cli("run", "--host", f"sim:{mac}", "--serial", "C02NOTTHIS1", state_dir=state_dir), 4)
    assert "--serial C02NOTTHIS1" in line
    line = one_error(run_cli("run", "--host", f"sim:{mac}", "--serial", 'C02"*', state_dir=state_dir), 2)
    assert "not an Apple serial" in line
    assert tree_manifest(mac) == before and runs(state_dir) == []


def test_real_run_without_root_is_refused(make_mac, state_dir):
    mac = make_mac()
    set_lab_state(mac, caller_uid=501)
    before = tree_manifest(mac)
    line = one_error(run_cli("run", "--host", f"sim:{mac}", "--yes", state_dir=state_dir), 2)
    assert "must run as root" in line
    assert tree_manifest(mac) == before and runs(state_dir) == []
    plan = run_cli("plan", "--host", f"sim:{mac}", "--json", state_dir=state_dir)  # a dry-run is allowed, with a note
    assert plan.returncode == 0
    pre = next(s for s in json.loads(plan.stdout)["data"]["steps"] if s["number"] == 1)
    assert any("not root" in n for n in pre["notes"])


def test_second_concurrent_run_is_refused(make_mac, store, state_dir):
    mac = make_mac()
    before = tree_manifest(mac)
    with store.lock(lab_state(mac)["serial"], "held-by-test"):
        line = one_error(run_cli("run", "--host", f"sim:{mac}", "--yes", state_dir=state_dir), 4)
    assert "another cleanup run is acting on Mac C02ZK1ABMD6M" in line
    assert tree_manifest(mac) == before and runs(state_dir) == []


def test_not_a_mac_and_bad_hosts(tmp_path, state_dir):
    line = one_error(run_cli("plan", "--host", "local", state_dir=state_dir), 2)
    assert "is not a Mac" in line
    one_error(run_cli("plan", "--host", f"sim:{tmp_path}/nothing", state_dir=state_dir), 2)
    one_error(run_cli("plan", "--host", "ftp://mac", state_dir=state_dir), 2)
    one_error(run_cli("resume", "NOTARUN", state_dir=state_dir), 2)
    one_error(run_cli("run", "--only", "printers", "--host", "local", state_dir=state_dir), 2)


def test_non_interactive_run_needs_a_confirmed_target(make_mac, state_dir):
    mac = make_mac()
    before = tree_manifest(mac)
    line = one_error(run_cli("run", "--host", f"sim:{mac}", state_dir=state_dir), 2)
    assert "--serial" in line
    assert tree_manifest(mac) == before


def test_destructive_steps_wait_for_confirmation_without_yes(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    before = tree_manifest(mac)
    res = run_cli("run", "--host", f"sim:{mac}", "--serial", "C02ZK1ABMD6M", "--only", "device", state_dir=state_dir)
    assert res.returncode == 3 and "needs confirmation" in res.stderr
    assert tree_manifest(mac) == before  # step 2 asked first and nobody answered
    state, _ = store.load(store.latest())
    assert state.step("remove-mdm-profile").state == "pending"


def test_from_after_to_and_unknown_step(make_mac, state_dir):
    mac = make_mac()
    assert "--from 9 comes after --to 6" in one_error(run_cli("plan", "--host", f"sim:{mac}", "--from", "9", "--to", "6", state_dir=state_dir), 2)
    assert "has no step 'nine'" in one_error(run_cli("plan", "--host", f"sim:{mac}", "--from", "nine", state_dir=state_dir), 2)


def test_edited_stored_playbook_is_refused(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    assert run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "3", state_dir=state_dir).returncode == 0
    stored = store.run_dir(store.latest()) / "playbook.toml"
    stored.write_text(stored.read_text().replace('"/Library/Preferences/com.microsoft.CompanyPortal.plist"', '"/Library/Preferences/com.apple.x.plist"'))
    before = tree_manifest(mac)
    line = one_error(run_cli("resume", "--latest", state_dir=state_dir), 2)
    assert "stored playbook was changed" in line
    assert tree_manifest(mac) == before


@pytest.mark.slow
def test_json_output_on_pause_is_the_run_state(make_mac, state_dir):
    mac = make_mac()
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--json", state_dir=state_dir)
    assert res.returncode == 3
    data = json.loads(res.stdout)["data"]
    assert data["status"] == "paused"
    assert {s["id"]: s["state"] for s in data["steps"]}["purge-keychains"] == "blocked"


def test_status_lists_the_other_runs_when_one_is_damaged(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    for _ in range(2):
        assert run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", state_dir=state_dir).returncode == 0
    good, bad = store.run_ids()
    (store.run_dir(bad) / "state.json").write_text("{trunc")
    res = run_cli("status", state_dir=state_dir)
    assert res.returncode == 0
    assert good in res.stdout and "damaged:" in res.stderr and bad in res.stderr
