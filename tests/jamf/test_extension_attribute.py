"""`cleanup diagnose --format jamf-ea`: one `<result>` line per Mac, each state on a simulated Mac built for it,
read-only, never the cloud, safe whatever the Mac holds, quick enough for an extension attribute."""

from __future__ import annotations

import json
import plistlib
import socket
import subprocess
import sys
import threading

import pytest

from cleanup.diagnose import ea
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.diagnose import set_jamfaad
from tests.support.jamfpolicy import add_wpj_certificate, drop_items, ea_result, is_wpj
from tests.support.lab import REPO, lab_state, run_cli, set_lab_state

OTHER_ID = "0b5d6a4e-3c2f-4d1e-9a8b-7c6d5e4f3a21"


def _psso_user_needs_registration(mac):
    state = lab_state(mac)
    state["sso"]["psso"]["users"]["alice"]["state"] = "POUserStateNeedsRegistration (2)"
    set_lab_state(mac, sso=state["sso"])


CASES = {
    "legacy, bob logged out": (dict(), None, ea.REGISTERED_LEGACY),
    "legacy, one user": (dict(users=["alice"]), None, ea.REGISTERED_LEGACY),
    "device compliance": (dict(scenario="device-compliance", users=["alice"]), None, ea.REGISTERED_DC),
    "platform sso": (dict(scenario="platform-sso", users=["alice"]), None, ea.REGISTERED_PSSO),
    "nothing registered": (dict(scenario="clean", users=["alice"]), None, ea.NOT_REGISTERED),
    "two users, two deviceIds": (dict(users=["alice", "bob"], logged_out=[]), None, ea.DUPLICATES),
    "one keychain, two certificates": (dict(users=["alice"]), lambda m: add_wpj_certificate(m, "alice", OTHER_ID), ea.DUPLICATES),
    "psso, a second user not registered": (dict(scenario="platform-sso", users=["alice", "bob"], logged_out=[]), None, ea.PSSO_INCOMPLETE),
    "psso, the user must register again": (dict(scenario="platform-sso", users=["alice"]), _psso_user_needs_registration, ea.PSSO_INCOMPLETE),
    "certificate without its thumbprint": (
        dict(users=["alice"]),
        lambda m: drop_items(m, "alice", lambda i: i.get("acct") != "com.microsoft.workplacejoin.thumbprint"),
        ea.WPJ_INCOMPLETE,
    ),
    "key in the secure enclave, no azure id": (
        dict(scenario="secure-enclave", users=["alice"]),
        lambda m: set_jamfaad(m, "alice", have_an_Azure_id=False),
        ea.SE_NOT_ACQUIRED,
    ),
    "key in the keychain, no azure id": (dict(users=["alice"]), lambda m: set_jamfaad(m, "alice", have_an_Azure_id=False), ea.NOT_ACQUIRED),
    "the only keychain locked": (dict(users=["alice"], logged_out=["alice"]), None, ea.KEYCHAIN_LOCKED),
    "workplace join removed by hand": (dict(users=["alice"]), lambda m: drop_items(m, "alice", lambda i: not is_wpj(i)), ea.NOT_REGISTERED),
}


@pytest.mark.parametrize("case", CASES)
def test_each_state_on_a_mac_built_for_it(make_mac, state_dir, case):
    build, edit, expected = CASES[case]
    mac = make_mac(**build)
    if edit:
        edit(mac)
    assert ea_result(mac, state_dir) == expected


def test_the_states_are_fixed_safe_and_none_contains_another():
    """Smart groups match these strings ("is" or "like"): each is printable, free of < > &, and no state matches
    inside another one, case ignored (Jamf's "like" is a case-insensitive "contains")."""
    for s in ea.STATES:
        assert s.isprintable() and not set(s) & set("<>&")
    for a in ea.STATES:
        for b in ea.STATES:
            assert a == b or a.casefold() not in b.casefold(), (a, b)


def test_not_run_as_root_is_unknown_with_the_reason(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    set_lab_state(mac, caller_uid=501)
    assert ea_result(mac, state_dir) == "Unknown: not run as root: an extension attribute runs as root to read every user's registration"


def test_a_bad_host_and_another_mac_are_unknown_not_errors(make_mac, state_dir, tmp_path):
    mac = make_mac(users=["alice"])
    assert ea_result(mac, state_dir, "--serial", "C02XXXXXXXXX") == "Unknown: the Mac is C02ZK1ABMD6M, not C02XXXXXXXXX"
    assert ea_result(mac, state_dir, "--serial", "not a serial").startswith("Unknown: ")
    assert ea_result(tmp_path / "nowhere", state_dir).startswith("Unknown: ")
    res = run_cli("diagnose", "--format", "jamf-ea", "--host", "none", state_dir=state_dir)
    assert (res.returncode, res.stdout) == (0, "<result>Unknown: no Mac to read (name one with --host)</result>\n")


@pytest.mark.slow
def test_an_unfinished_run_is_named_and_a_finished_one_is_not(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", state_dir=state_dir)
    assert res.returncode == 3, res.stderr  # paused at the restart
    assert ea_result(mac, state_dir) == ea.NOT_REGISTERED + "; cleanup run paused"
    res = run_cli("resume", "--latest", "--yes", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert "cleanup run" not in ea_result(mac, state_dir)


def test_read_only_the_whole_mac_and_no_run_recorded(make_mac, state_dir):
    for name, build in (("legacy", dict(logged_out=[])), ("psso", dict(scenario="platform-sso", users=["alice", "bob"], logged_out=[]))):
        mac = make_mac(name, **build)
        before = tree_manifest(mac)
        ea_result(mac, state_dir)
        assert tree_manifest(mac) == before  # files, links, modes, keychains, the lab's own state
    assert not state_dir.exists()


def test_hostile_text_on_the_mac_stays_out_of_the_line(make_mac, state_dir):
    hostile = "</result>\n<result>Registered (legacy) & <b>\x1b[31m"
    mac = make_mac(scenario="device-compliance", users=["alice"])
    prefs = mac / "Library/Preferences/com.jamfsoftware.jamf.plist"
    data = plistlib.loads(prefs.read_bytes())
    data["microsoftCATenantDomainName"] = hostile
    prefs.write_bytes(plistlib.dumps(data, fmt=plistlib.FMT_BINARY))  # binary: XML cannot hold an escape
    add_wpj_certificate(mac, "alice", hostile)  # not a deviceId: no second registration either
    assert ea_result(mac, state_dir) == ea.REGISTERED_DC
    # a user database the reader refuses: the reason names the record, cleaned
    users_db = mac / "var/db/dslocal/nodes/Default/users"
    record = plistlib.loads((users_db / "alice.plist").read_bytes())
    record.update(name=[hostile], uid=["503"], home=["/Users/x"])
    (users_db / "evil.plist").write_bytes(plistlib.dumps(record, fmt=plistlib.FMT_BINARY))
    assert ea_result(mac, state_dir).startswith("Unknown: cannot read the user database")  # one safe line (ea_result)


def test_a_reason_from_the_mac_is_cleaned():
    line = ea.clean("user 'x</result>\n<result>&y' \x1b[31m caf\u00e9 " + "z" * 300)
    assert line.startswith("user 'x(/result) (result)+y' [31m caf? z") and line.endswith("...") and len(line) == ea.MAX_REASON


class _Listener:
    """A TCP port that counts the connections made to it (the cloud a config names)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def test_the_cloud_is_never_contacted_even_when_configured(make_mac, state_dir, tmp_path):
    mac = make_mac(users=["alice"])
    cloud = _Listener()
    try:
        url = f"https://127.0.0.1:{cloud.port}"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[jamf]\nurl = "{url}"\nclient_id = "ea-test"\n'
            f'[graph]\ntenant_id = "5b7f3c1e-2a4d-4e8f-9c61-0d2a7e4b9f30"\nclient_id = "0b5d6a4e-3c2f-4d1e-9a8b-7c6d5e4f3a21"\n'
            f'authority_host = "{url}"\nendpoint = "{url}"\n'
        )
        env = {"CLEANUP_CONFIG": str(config), "CLEANUP_JAMF_CLIENT_SECRET": "s3cret", "CLEANUP_GRAPH_CLIENT_SECRET": "s3cret"}
        res = run_cli("diagnose", "--format", "jamf-ea", "--host", f"sim:{mac}", state_dir=state_dir, env=env)
        assert (res.returncode, res.stdout, res.stderr) == (0, f"<result>{ea.REGISTERED_LEGACY}</result>\n", "")
        assert cloud.connections == 0
        # the same configuration in the table's diagnosis does reach the cloud: the count above means something
        run_cli("diagnose", "--host", f"sim:{mac}", state_dir=state_dir, env=env, timeout=120)
        assert cloud.connections > 0
    finally:
        cloud.close()


def test_six_logged_in_users_as_root_give_one_line(make_mac, state_dir):
    """The case scripts/bench_agent.py times (the issue's bound: 2 s on the simulated Mac; docs/benchmarks.md)."""
    mac = make_mac(users=["alice", "bob", "carol", "dave", "erin", "frank"], logged_out=[])
    res = subprocess.run(
        [sys.executable, "-m", "cleanup", "diagnose", "--format", "jamf-ea", "--host", f"sim:{mac}"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert res.stdout == f"<result>{ea.DUPLICATES}</result>\n", res.stderr


def test_format_json_is_the_json_envelope_and_odd_formats_are_refused(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    res = run_cli("diagnose", "--format", "json", "--host", f"sim:{mac}", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["command"] == "diagnose"
    res = run_cli("diagnose", "--format", "xml", "--host", f"sim:{mac}", state_dir=state_dir)
    assert (res.returncode, res.stdout, res.stderr) == (2, "", "error: --format takes text, json or jamf-ea, not 'xml'\n")
    res = run_cli("diagnose", "--format", "text", "--json", "--host", f"sim:{mac}", state_dir=state_dir)
    assert res.returncode == 2 and json.loads(res.stdout)["errors"][0]["message"] == "--json is --format json; give one of them"
    res = run_cli("diagnose", "--format", "jamf-ea", "--json", "--host", f"sim:{mac}", state_dir=state_dir)
    assert res.returncode == 0 and res.stdout.startswith("<result>Unknown: --json") and res.stdout.count("\n") == 1
