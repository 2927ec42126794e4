"""What the person at the Mac is told during a run of the device side: before the restart (with deferrals), when a
user must log in, when the user must register; the admin's texts from the playbook and the command line, kept by a
resume after the restart; --notify none, a dry-run and nobody logged in show nothing and never hold the run up."""

from __future__ import annotations

import json

from cleanup.engine.store import StateStore
from tests.support.lab import REPO, audit_events, lab_state, one_error, run_cli, set_lab_state
from tests.support.notifykit import answer, device_resume, device_run, kinds, messages, shown

CAUSE6 = (REPO / "playbooks/cause6.toml").read_text()
HOSTILE = 'Restart "now" & do shell script "touch /tmp/pwned" & "\n$(touch /tmp/pwned2) `id`'


def _restarts(mac):
    return [n for n in shown(mac) if "restart" in n["message"].lower() or n["buttons"][0] == "Restart now"]


def test_defer_pauses_the_run_resume_asks_again_and_after_n_deferrals_the_restart_happens(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    boot = lab_state(mac)["boottime"]
    answer(mac, "Defer", "Defer", "Defer")
    res = device_run(mac, state_dir, "--deferrals", "2")
    assert res.returncode == 3 and "error:" not in res.stderr, res.stderr
    assert "the restart was deferred by the user (1 of 2); resume asks again" in res.stderr
    res = device_resume(state_dir)
    assert res.returncode == 3 and "deferred by the user (2 of 2)" in res.stderr
    assert lab_state(mac)["boottime"] == boot  # not restarted yet
    res = device_resume(state_dir)
    assert res.returncode == 3 and "the Mac is restarting" in res.stderr
    assert lab_state(mac)["boottime"] != boot
    assert [n["buttons"] for n in _restarts(mac)] == [["Restart now", "Defer"], ["Restart now", "Defer"], ["Restart now"]]
    assert [n["answer"] for n in _restarts(mac)] == ["Defer", "Defer", "Restart now"]  # no Defer to click the third time
    results = [e["result"] for e in audit_events(state_dir) if e["event"] == "result" and e["key"] == "restart"]
    assert results[0].startswith("not restarted: deferred by the user (1 of 2); resume asks again; at the Mac: told alice with osascript")
    assert results[-1].startswith("restart requested; at the Mac: told alice with osascript (answered 'Restart now')")


def test_a_full_device_run_tells_before_the_restart_and_before_the_registration(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    assert device_run(mac, state_dir).returncode == 3
    assert device_resume(state_dir).returncode == 0
    assert kinds(mac) == ["restart", "register"]
    restart, register = shown(mac)
    # after removeFramework (step 3) jamfHelper is gone: osascript; re-enrollment brings the framework back
    assert (restart["tool"], register["tool"]) == ("osascript", "jamfHelper")
    assert restart["title"] == register["title"] == "Repairing this Mac's registration"
    assert restart["buttons"] == ["Restart now", "Defer"]  # cause6's [notify] allows one deferral


def test_a_locked_keychain_tells_the_console_user_who_must_log_in(make_mac, state_dir):
    mac = make_mac(users=["alice", "bob"], logged_out=["bob"])
    res = device_run(mac, state_dir)
    assert res.returncode == 3 and "login keychain of bob is locked" in res.stderr
    assert "at the Mac: told alice with osascript (answered 'OK')" in res.stderr
    assert messages(mac) == ["To finish repairing this Mac's registration, bob needs to log in on this Mac. The repair goes on after that."]
    run, _ = StateStore(state_dir).load(StateStore(state_dir).latest())
    assert "the person at the Mac: told alice with osascript (answered 'OK')" in run.step("purge-keychains").notes


def test_nobody_logged_in_nobody_is_told_and_the_run_goes_on(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    set_lab_state(mac, console_user=None)  # at the login window (alice's session stays, switched out)
    res = device_run(mac, state_dir)
    assert res.returncode == 3 and "the Mac is restarting" in res.stderr
    assert device_resume(state_dir).returncode == 0
    assert shown(mac) == []
    results = {e["key"]: e["result"] for e in audit_events(state_dir) if e["event"] == "result"}
    assert results["restart"] == "restart requested; at the Mac: not shown: no one logged in"


def test_notify_none_and_a_dry_run_show_nothing(make_mac, state_dir):
    mac = make_mac(users=["alice", "bob"], logged_out=["bob"])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--dry-run", state_dir=state_dir)
    assert res.returncode == 0 and "the console user is told" in res.stdout, res.stderr
    assert shown(mac) == []
    set_lab_state(mac, logged_in=["alice", "bob"])
    assert device_run(mac, state_dir, "--notify", "none").returncode == 3
    assert device_resume(state_dir).returncode == 0  # the resume keeps --notify none
    assert shown(mac) == []


def test_the_playbooks_texts_and_deferrals(make_mac, state_dir, tmp_path):
    mac = make_mac(users=["alice"])
    book = tmp_path / "acme.toml"
    book.write_text(CAUSE6.replace("deferrals = 1  #", 'title = "ACME IT"\nrestart = "ACME restarts this Mac now."\ndeferrals = 0  #'))
    assert device_run(mac, state_dir, "--playbook", str(book)).returncode == 3
    [restart] = shown(mac)
    assert (restart["title"], restart["message"], restart["buttons"]) == ("ACME IT", "ACME restarts this Mac now.", ["Restart now"])


def test_command_line_texts_override_the_playbook_and_a_resume_after_the_restart_keeps_them(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    res = device_run(mac, state_dir, "--notify-text", "title=Helpdesk", "--notify-text", f"restart={HOSTILE}", "--notify-text", "register=Sign in, {user}.")
    assert res.returncode == 3, res.stderr
    assert device_resume(state_dir).returncode == 0  # no options: the run's recorded ones
    restart, register = shown(mac)
    assert restart["message"] == HOSTILE and restart["title"] == "Helpdesk"  # literally, one argv element
    assert register["message"] == "Sign in, alice." and register["title"] == "Helpdesk"
    assert HOSTILE not in restart["script"] and list(mac.glob("**/pwned*")) == []


def _state_path(state_dir):
    store = StateStore(state_dir)
    return store.run_dir(store.latest()) / "state.json"


def _latest_state(state_dir) -> dict:
    return json.loads(_state_path(state_dir).read_text())


def _save_latest_state(state_dir, data: dict) -> None:
    _state_path(state_dir).write_text(json.dumps(data))


def test_resume_may_change_the_texts_and_an_older_checkpoint_without_them_still_resumes(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    assert device_run(mac, state_dir, "--notify-text", "register=Old text").returncode == 3
    data = _latest_state(state_dir)
    for step in data["steps"]:
        step["data"].pop("notify", None)  # as a run started before notifications wrote it
    _save_latest_state(state_dir, data)
    assert device_resume(state_dir, "--notify-text", "register=New text").returncode == 0
    assert messages(mac)[-1] == "New text"


def test_bad_texts_are_refused_in_one_line_before_anything_runs(make_mac, state_dir, tmp_path):
    mac = make_mac(users=["alice"])
    for args, why in (
        (("--notify-text", "banner=x"), "--notify-text banner: unknown kind 'banner'"),
        (("--notify-text", "restart=- save your work"), "must not begin with '-'"),
        (("--notify-text", "title=two\nlines"), "a title is one line"),
        (("--notify-text", "restart=bell\x07"), "control character U+0007"),
        (("--notify-text", "restart=" + "x" * 1001), "at most 1000"),
        (("--notify", "loud"), "--notify takes auto or none"),
        (("--deferrals", "99"), "--deferrals must be a whole number from 0 to 20"),
    ):
        assert why in one_error(device_run(mac, state_dir, *args), 2)
    book = tmp_path / "bad.toml"
    book.write_text(CAUSE6.replace("deferrals = 1  #", 'banner = "x"\ndeferrals = -1  #'))
    line = one_error(device_run(mac, state_dir, "--playbook", str(book)), 2)
    assert "bad.toml: notify.banner: unknown key" in line or "bad.toml: notify.deferrals" in line
    assert shown(mac) == [] and not (state_dir / "runs").exists()


def test_a_damaged_record_of_the_choices_is_refused_in_one_line(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    assert device_run(mac, state_dir, "--notify-text", "restart=Soon").returncode == 3
    data = _latest_state(state_dir)
    next(s for s in data["steps"] if s["id"] == "restart")["data"]["notify"]["mode"] = "shout"
    _save_latest_state(state_dir, data)
    assert "step restart: data.notify mode: must be one of auto, none; nothing was run" in one_error(device_resume(state_dir), 2)
