"""Telling the console user with what the Mac has: swiftDialog, else jamfHelper, else osascript, in the user's session;
the admin's text reaches the tool as one argv element and is shown literally; nobody logged in: nothing is shown."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from cleanup.hosts import notify, open_host
from cleanup.hosts.base import LocalUser
from cleanup.lab.simmac.common import JAMF_SUPPORT, SWIFT_DIALOG
from tests.support.lab import set_lab_state
from tests.support.notifykit import answer, shown

ALICE = LocalUser("alice", 501, "/Users/alice")
RESTART = notify.Dialog("Repairing", "This Mac must restart.", (notify.RESTART_NOW, notify.DEFER), 300)
HOSTILE = 'Say "hi" & do shell script "touch /tmp/pwned" & "\n$(touch /tmp/pwned2) `id` \'; rm -rf / #\\'


def _tell(mac, dialog=RESTART, user=ALICE):
    return notify.tell(open_host(f"sim:{mac}"), user, dialog)


def test_swift_dialog_first_then_jamf_helper_then_osascript_once_remove_framework_took_it(make_mac):
    mac = make_mac(users=["alice"], swift_dialog=True)
    assert _tell(mac).tool == "swiftDialog"
    (mac / SWIFT_DIALOG.lstrip("/")).unlink()
    assert _tell(mac).tool == "jamfHelper"
    shutil.rmtree(mac / JAMF_SUPPORT.lstrip("/"))  # what `jamf removeFramework` takes with it
    told = _tell(mac)
    assert told.shown and told.tool == "osascript" and told.answer == notify.RESTART_NOW
    assert [(n["tool"], n["as"], n["session"]) for n in shown(mac)] == [
        ("swiftDialog", "root", "alice"),
        ("jamfHelper", "root", "alice"),
        ("osascript", "alice", "alice"),  # display dialog as the user, in their session
    ]
    assert all(n["timeout"] == 300 and n["buttons"] == ["Restart now", "Defer"] for n in shown(mac))


def test_nobody_logged_in_nothing_is_shown_and_nothing_waits(make_mac):
    mac = make_mac(users=["alice"])
    told = _tell(mac, user=None)
    assert not told.shown and told.text() == "not shown: no one logged in" and shown(mac) == []


def test_a_user_without_a_gui_session_is_not_told_and_the_caller_hears_why(make_mac):
    mac = make_mac(users=["alice"])
    set_lab_state(mac, logged_in=[], console_user=None)
    told = _tell(mac)
    assert not told.shown and "jamfHelper" in told.why and "osascript" in told.why and shown(mac) == []


@pytest.mark.parametrize("tool", ["swiftDialog", "jamfHelper", "osascript"])
def test_hostile_text_is_one_argv_element_shown_literally(make_mac, tool):
    mac = make_mac(users=["alice"], swift_dialog=tool == "swiftDialog")
    if tool == "osascript":
        shutil.rmtree(mac / JAMF_SUPPORT.lstrip("/"))
    told = _tell(mac, notify.Dialog("Title \"&' $(id)", HOSTILE, (notify.OK,), 120))
    assert told.shown and told.tool == tool and told.answer == notify.OK
    [record] = shown(mac)
    assert record["title"] == "Title \"&' $(id)" and record["message"] == HOSTILE
    if tool == "osascript":
        assert HOSTILE not in record["script"] and '"' not in record["script"]  # the texts are argv, never AppleScript source
    assert list(mac.glob("**/pwned*")) == []


def test_the_users_answer_the_timeout_and_the_default_button(make_mac):
    mac = make_mac(users=["alice"], swift_dialog=True)
    answer(mac, "Defer", "timeout", "no such button")
    assert [_tell(mac).answer for _ in range(4)] == ["Defer", None, "Restart now", "Restart now"]
    assert [n["timed_out"] for n in shown(mac)] == [False, True, False, False]


def test_jamf_helper_timeout_chooses_the_default_button(make_mac):
    mac = make_mac(users=["alice"])
    answer(mac, "timeout")
    assert _tell(mac).answer == notify.RESTART_NOW  # jamfHelper reports it as button 1: the restart goes ahead
    [record] = shown(mac)
    assert record["tool"] == "jamfHelper" and record["timed_out"] and record["countdown"]


def test_every_dialog_has_a_timeout():
    for argv in (notify.swift_dialog_argv(notify.SWIFT_DIALOG, RESTART), notify.jamf_helper_argv(notify.JAMF_HELPER, RESTART)):
        assert "300" in argv and ("--timer" in argv or "-timeout" in argv)
    assert "giving up after" in " ".join(notify.OSASCRIPT_LINES) and notify.osascript_argv(RESTART)[-3:] == ["300", "Restart now", "Defer"]


def _fake(mac, mac_path, *args):
    return subprocess.run([str(mac / mac_path.lstrip("/")), *args], capture_output=True, text=True, timeout=30)


def test_the_fakes_parse_arguments_as_the_real_tools(make_mac):
    mac = make_mac(users=["alice"], swift_dialog=True)
    res = _fake(mac, notify.OSASCRIPT, "-x", "on run argv")
    assert res.returncode == 1 and "illegal option -- x" in res.stderr and "usage: osascript" in res.stderr
    res = _fake(mac, notify.JAMF_HELPER, "-title", "T")  # no -windowType: jamfHelper prints 255
    assert res.stdout.strip() == "255"
    res = _fake(mac, notify.JAMF_HELPER, "-windowType", "bogus")
    assert res.stdout.strip() == "250"
    # osascript's display dialog needs a user's GUI session: as root, outside one, it cannot ask
    res = _fake(mac, *notify.osascript_argv(notify.Dialog("T", "M", ("OK",), 5)))
    assert res.returncode == 1 and "No user interaction allowed. (-1713)" in res.stderr
    assert shown(mac) == []


def test_swift_dialog_reads_a_value_beginning_with_a_dash_as_missing_so_texts_may_not_begin_with_one(make_mac):
    mac = make_mac(users=["alice"], swift_dialog=True)
    host = open_host(f"sim:{mac}")
    host.run(["/bin/launchctl", "asuser", "501", SWIFT_DIALOG, "--title", "T", "--message", "- save your work", "--timer", "5"])
    [record] = shown(mac)
    assert record["message"] == "default-message" and record["ignored"] == ["- save your work"]
    assert notify.text_problem("restart", "- save your work") == "must not begin with '-': swiftDialog and jamfHelper would read it as an option"


def test_answers_read_from_each_tools_output():
    d = notify.Dialog("t", "m", ("Restart now", "Defer"), 60)
    assert [notify.swift_dialog_answer(c, d) for c in (0, 2, 4)] == ["Restart now", "Defer", None]
    assert [notify.jamf_helper_answer(0, out, d) for out in ("0\n", "2\n", "243\n")] == ["Restart now", "Defer", None]
    assert notify.osascript_answer(0, "button returned:Defer, gave up:false\n", "") == "Defer"
    assert notify.osascript_answer(0, "button returned:, gave up:true\n", "") is None
    for bad in (lambda: notify.swift_dialog_answer(201, d), lambda: notify.jamf_helper_answer(1, "1", d), lambda: notify.osascript_answer(1, "", "err")):
        with pytest.raises(notify._Failed):
            bad()
