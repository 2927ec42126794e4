"""The registration evidence reader on the simulated Mac: both 2026 scenarios, the default one, missing and odd tools."""

import os
import plistlib

import pytest

from cleanup.errors import SafetyRefusal
from cleanup.hosts.local import open_sim_host
from cleanup.hosts.registration import JAMF_CA_PATHS, read_registration_evidence
from cleanup.lab.simmac import create_sim_mac, load_state, save_state, sso_model, tree_digest


def _mac(tmp_path, scenario="default", **kw):
    info = create_sim_mac(tmp_path / scenario, scenario=scenario, **kw)
    return info, open_sim_host(info["root"])


def _read(host):
    return read_registration_evidence(host, retry_delay=0)


def _user(ev, name):
    return next(u for u in ev.users if u.name == name)


def _replace(info, mac_path, script):
    path = os.path.join(info["root"], mac_path.lstrip("/"))
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, 0o755)


def test_platform_sso(tmp_path):
    info, host = _mac(tmp_path, "platform-sso")
    before = tree_digest(info["root"])
    ev = _read(host)
    assert tree_digest(info["root"]) == before  # read-only
    assert ev.models == ("platform-sso", "device-compliance") and ev.missing == ()
    did = info["psso"]["device_id"]
    assert ev.psso_device_ids == (did,) and ev.msal_device_ids == {"alice": did} and info["device_ids"] == {"alice": did}
    alice, bob = _user(ev, "alice"), _user(ev, "bob")
    assert alice.logged_in and alice.platform_sso is not None and alice.platform_sso.secure_enclave
    assert alice.psso_status is not None and alice.psso_status.status == 2
    assert not bob.logged_in and bob.platform_sso is None and bob.psso_status is None  # nothing runs as a logged-out user
    hw = sso_model.hardware_uuid(info["serial"])
    assert ev.hardware_uuid == hw and f"/Users/bob/Library/Keychains/{hw}" in bob.shared_folders
    assert "/Users/alice/Library/Group Containers/UBF8T346G9.com.microsoft.entrabroker" in alice.shared_folders
    assert ev.sso_extension and [p.identifier for p in ev.sso_profiles] == ["com.example.platformsso"]
    assert ev.jamf_ca_version == "11.24.0" and ev.jamf_ca == JAMF_CA_PATHS[0] and ev.notes == ()


def test_device_compliance(tmp_path):
    info, host = _mac(tmp_path, "device-compliance")
    before = tree_digest(info["root"])
    ev = _read(host)
    assert tree_digest(info["root"]) == before
    assert ev.models == ("device-compliance",) and ev.psso_device_ids == () and ev.sso_profiles == ()
    alice = _user(ev, "alice")
    assert alice.platform_sso is not None and not alice.platform_sso.configured
    assert alice.psso_status is not None and alice.psso_status.status == 0
    assert ev.msal_device_ids == {"alice": info["device_ids"]["alice"]}  # MSAL sees the Workplace Join registration
    assert ev.jamf_prefs is not None and ev.jamf_prefs.device_compliance
    assert alice.jamfaad is not None and alice.jamfaad.have_an_azure_id is True


def test_default_scenario(tmp_path):
    info, host = _mac(tmp_path)
    before = tree_digest(info["root"])
    ev = _read(host)
    assert tree_digest(info["root"]) == before
    assert ev.models == () and ev.jamf_ca_version == "11.10.1" and ev.missing == ()
    alice = _user(ev, "alice")
    assert alice.platform_sso is not None and not alice.platform_sso.configured and alice.psso_status is None
    assert any("has no getPSSOStatus" in n for n in ev.notes)
    assert ev.jamf_prefs is not None and ev.jamf_prefs.ca_enabled is None and not ev.sso_extension and alice.shared_folders == ()


def test_missing_tools_are_noted_not_fatal(tmp_path):
    info, host = _mac(tmp_path, "no-jamf")
    os.unlink(os.path.join(info["root"], "usr/bin/app-sso"))
    ev = _read(host)
    assert ev.missing == ("app-sso", "Jamf Conditional Access")
    assert ev.jamf_ca is None and ev.jamf_prefs is None and all(u.platform_sso is None and u.psso_status is None for u in ev.users)
    assert [u.name for u in ev.users] == ["alice", "bob"] and _user(ev, "alice").jamfaad is not None


def test_the_other_spelling_is_used_when_it_is_the_one_there(tmp_path):
    info, host = _mac(tmp_path, "platform-sso")
    os.unlink(os.path.join(info["root"], JAMF_CA_PATHS[0].lstrip("/")))
    ev = _read(host)
    assert ev.jamf_ca == JAMF_CA_PATHS[1] and _user(ev, "alice").psso_status.status == 2


def test_odd_output_is_a_note(tmp_path):
    info, host = _mac(tmp_path, "platform-sso")
    _replace(info, "/usr/bin/app-sso", "#!/bin/sh\necho 'app-sso: something else'\n")
    _replace(info, JAMF_CA_PATHS[0], "#!/bin/sh\necho 'Usage: Jamf Conditional Access'\nexit 2\n")
    _replace(info, "/usr/bin/profiles", "#!/bin/sh\necho 'profiles: internal error' >&2\nexit 1\n")
    ev = _read(host)
    alice = _user(ev, "alice")
    assert alice.platform_sso is None and alice.psso_status is None and ev.jamf_ca_version is None and ev.sso_profiles == ()
    assert any("app-sso platform -s as alice: app-sso: not the output" in n for n in ev.notes)
    assert any("getPSSOStatus as alice: exit 2" in n for n in ev.notes)
    assert any("configuration profiles are unknown: exit 1: profiles: internal error" in n for n in ev.notes)
    assert ev.jamf_prefs is not None and ev.jamf_prefs.device_compliance  # the rest is still read


def test_a_timeout_is_retried_once(tmp_path):
    info, host = _mac(tmp_path, "platform-sso")
    st = load_state(info["root"])
    st["sso"]["psso_timeouts"] = 1
    save_state(info["root"], st)
    assert _user(_read(host), "alice").psso_status.status == 2
    st["sso"]["psso_timeouts"] = 2
    save_state(info["root"], st)
    ev = _read(host)
    status = _user(ev, "alice").psso_status
    assert status.timed_out and status.status is None and any("timed out twice" in n for n in ev.notes)


def test_a_linked_jamfaad_plist_is_not_read(tmp_path):
    info, host = _mac(tmp_path, "device-compliance")
    prefs = os.path.join(info["root"], "Users/alice/Library/Preferences/com.jamf.management.jamfAAD.plist")
    os.unlink(prefs)
    with open(os.path.join(info["root"], "Users/alice/Documents/fake.plist"), "wb") as f:
        f.write(plistlib.dumps({"have_an_Azure_id": True}))
    os.symlink("../../Documents/fake.plist", prefs)
    ev = _read(host)
    assert _user(ev, "alice").jamfaad is None and any("com.jamf.management.jamfAAD.plist is not read: it is a link" in n for n in ev.notes)


def test_an_unsafe_user_database_is_refused(tmp_path):
    _, host = _mac(tmp_path, "unsafe-username")
    with pytest.raises(SafetyRefusal):
        _read(host)


def test_without_ps_only_the_console_user_is_read(tmp_path):
    info, host = _mac(tmp_path, "platform-sso", users=["alice", "bob"], logged_out=[])
    os.unlink(os.path.join(info["root"], "bin/ps"))
    ev = _read(host)
    assert [u.name for u in ev.users if u.logged_in] == ["alice"]
    assert any("ps cannot tell who is logged in" in n for n in ev.notes)
