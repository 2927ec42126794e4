"""A technician's full device-side reset: it survives the locked keychain, the restart and the wait."""

import json
import os
import stat
import time

from cleanup.engine.audit import AuditLog
from tests.support.lab import drive, keychain, lab_state, run_cli, set_lab_state

ARTICLE_FILE = "Library/Preferences/com.microsoft.CompanyPortal.plist"


def _audit(store, run_id):
    return AuditLog(store.run_dir(run_id) / "audit.jsonl").records()


def test_full_device_reset_removes_the_article_items_and_keeps_the_rest(make_mac, store):
    mac = make_mac(logged_out=[])
    payroll = (mac / "Users/alice/Documents/payroll.xlsx").read_bytes()
    run, pauses = drive(store, mac)
    assert run.status == "done"
    assert any("restarting" in p for p in pauses)
    assert not (mac / ARTICLE_FILE).exists()
    assert not (mac / "Users/bob" / ARTICLE_FILE).exists()
    assert not (mac / "Applications/Company Portal.app").exists()
    assert (mac / "Applications/Safari.app").exists()
    assert (mac / "Users/alice/Documents/payroll.xlsx").read_bytes() == payroll
    sim = lab_state(mac)
    assert "com.microsoft.CompanyPortalMac" not in sim["pkgs"]
    assert sim["mdm"]["enrolled"] is True  # step 12 re-enrolled
    assert sim["policies_run"] == [{"event": "intune-registration"}]  # step 13, exactly once
    assert sim["boottime"] != 1764130000  # step 9 restarted
    login = keychain(mac, "/Users/alice/Library/Keychains/login.keychain-db")
    labels = {i.get("labl") for i in login["items"]}
    assert "com.microsoft.workplacejoin.thumbprint" not in labels and "JAMF" in labels
    assert login["identity_preferences"] == {}
    steps = {s.id: s.state for s in run.steps}
    assert steps["delete-jamf-record"] == "excluded" and steps["remove-files"] == "done"


def test_locked_keychain_blocks_then_resume_retries(make_mac, store, state_dir):
    mac = make_mac()  # bob logged out
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", state_dir=state_dir)
    assert res.returncode == 3, res.stderr
    assert "login keychain of bob is locked" in res.stderr
    run_id = store.latest()
    state, _ = store.load(run_id)
    assert state.step("purge-keychains").state == "blocked"
    bob_before = keychain(mac, "/Users/bob/Library/Keychains/login.keychain-db")
    assert any(i.get("labl") == "com.microsoft.CompanyPortal" for i in bob_before["items"])
    again = run_cli("resume", run_id, state_dir=state_dir)
    assert again.returncode == 3 and "bob" in again.stderr  # still locked: never a silent success
    res = run_cli("lab", "mac", "login", mac, "bob", state_dir=state_dir)
    assert res.returncode == 0
    for _ in range(3):
        res = run_cli("resume", "--latest", state_dir=state_dir)
        if res.returncode == 0:
            break
        assert res.returncode == 3, res.stderr
    assert res.returncode == 0, res.stderr
    bob_after = keychain(mac, "/Users/bob/Library/Keychains/login.keychain-db")
    assert not any(i.get("labl") == "com.microsoft.CompanyPortal" for i in bob_after["items"])


def test_reboot_is_detected_from_boot_time(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "9", state_dir=state_dir)
    assert res.returncode == 3 and "restarting" in res.stderr
    state, _ = store.load(store.latest())
    st = state.step("restart")
    assert st.state == "paused" and st.data["boot_before"] == 1764130000
    # The Mac has not actually come back yet: boot time unchanged -> the restart is requested again, not assumed.
    set_lab_state(mac, boottime=1764130000)
    res = run_cli("resume", "--latest", state_dir=state_dir)
    assert res.returncode == 3
    boot = lab_state(mac)["boottime"]
    assert boot != 1764130000
    res = run_cli("resume", "--latest", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    state, _ = store.load(store.latest())
    assert state.step("restart").state == "done" and "restarted" in state.step("restart").outcome
    restarts = [r for r in _audit(store, state.run_id) if r.get("key") == "restart" and r["event"] == "result" and r["changed"]]
    assert len(restarts) == 2  # one per actual request; each resume found the boot time unchanged


def test_wait_is_durable_and_no_wait_exits_3(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    args = ("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--from", "10", "--to", "11", "--no-wait")
    res = run_cli(*args, state_dir=state_dir)
    assert res.returncode == 3
    assert "waiting until" in res.stderr
    state, _ = store.load(store.latest())
    st = state.step("wait-30-minutes")
    assert st.state == "paused"
    assert abs(st.data["not_before"] - (st.data["started_at"] + 1800)) < 1
    assert time.strftime("%H:%M", time.localtime(st.data["not_before"])) in res.stderr
    # A later resume without an override still waits (status 3): the wait cannot be skipped silently.
    res = run_cli("resume", "--latest", "--no-wait", state_dir=state_dir)
    assert res.returncode == 3
    state2, _ = store.load(store.latest())
    assert state2.step("wait-30-minutes").data["not_before"] == st.data["not_before"]


def test_wait_override_is_explicit_and_recorded(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--from", "10", "--to", "11", "--no-wait", state_dir=state_dir)
    assert res.returncode == 3
    t0 = time.time()
    res = run_cli("resume", "--latest", "--wait-seconds", "1", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    state, _ = store.load(store.latest())
    assert state.step("wait-30-minutes").state == "done"
    assert [o["kind"] for o in state.overrides] == ["wait"] and state.overrides[0]["seconds"] == 1
    overrides = [r for r in _audit(store, state.run_id) if r["event"] == "override"]
    assert overrides and overrides[0]["kind"] == "wait"
    assert time.time() - t0 < 30


def test_resume_waits_only_the_remainder(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    res = run_cli(
        "run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--from", "10", "--to", "11", "--wait-seconds", "4", "--no-wait", state_dir=state_dir
    )
    assert res.returncode == 3
    time.sleep(2)
    t0 = time.time()
    res = run_cli("resume", "--latest", state_dir=state_dir)
    took = time.time() - t0
    assert res.returncode == 0, res.stderr
    assert took < 4, took  # only the ~2 s left (plus start-up), not the whole wait again


def test_skip_is_explicit_and_recorded(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--yes", "--only", "device", "--to", "3", "--skip", "3", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    state, _ = store.load(store.latest())
    assert state.step("remove-framework").state == "skipped" and state.step("remove-mdm-profile").state == "done"
    assert state.overrides[0]["kind"] == "skip" and state.overrides[0]["step"] == "remove-framework"
    assert (mac / "usr/local/jamf/bin/jamf").exists()  # a skipped step changes nothing


def test_status_shows_steps_and_json(make_mac, store, state_dir):
    mac = make_mac(logged_out=[])
    run, _ = drive(store, mac)
    res = run_cli("status", run.run_id, "--json", state_dir=state_dir)
    assert res.returncode == 0
    data = json.loads(res.stdout)["data"]
    assert data["status"] == "done" and data["serial"] == "C02ZK1ABMD6M"
    assert all(s["state"] in ("done", "excluded") for s in data["steps"])
    text = run_cli("status", state_dir=state_dir)
    assert run.run_id in text.stdout
    one = run_cli("status", "--latest", state_dir=state_dir)
    assert "remove-files" in one.stdout and "done" in one.stdout


def test_state_and_audit_are_private_and_hold_no_secrets(make_mac, store):
    mac = make_mac(logged_out=[])
    run, _ = drive(store, mac)
    d = store.run_dir(run.run_id)
    for f in ("state.json", "audit.jsonl", "playbook.toml"):
        assert stat.S_IMODE(os.stat(d / f).st_mode) == 0o600, f
    for folder in (store.root, store.runs_dir, d):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    audit = _audit(store, run.run_id)
    intents = {r["key"] for r in audit if r["event"] == "intent"}
    results = {r["key"] for r in audit if r["event"] == "result"}
    assert intents and intents <= results
    blob = (d / "state.json").read_text() + (d / "audit.jsonl").read_text()
    assert "password" not in blob.lower() or "delete-generic-password" in blob  # argv names only, never a secret value
