"""The simulated Mac's 2026 fakes print the reference's shapes and change the registration state as the user."""

import os
import plistlib
import re

import pytest

from cleanup.lab.simmac import sso_model
from cleanup.lab.simmac.builder import TOKEN_TS
from cleanup.parsers.appsso import parse_platform_state
from cleanup.parsers.jamfca import parse_psso_status

CA_DIR = "/Library/Application Support/JAMF/Jamf.app/Contents/MacOS/Jamf Conditional Access.app/Contents/MacOS"
CA = f"{CA_DIR}/Jamf Conditional Access"
CA_UPPER = f"{CA_DIR}/JAMF Conditional Access"
APP_SSO = ["/usr/bin/app-sso", "platform", "-s"]
DICT_LINE = re.compile(r'^extraDeviceInformation \[AnyHashable\("[^"]+"\): [^,\]]+(, AnyHashable\("[^"]+"\): [^,\]]+)*\]$')


def _asuser(sim, user, *argv):
    """``launchctl asuser <uid> <command>`` as root, without sudo: how field scripts call getPSSOStatus."""
    return sim.run("/bin/launchctl", "asuser", str(sim.summary["uids"][user]), *argv)


def _wpj_certs(sim, user):
    return [i for i in sim.login(user)["items"] if i["class"] == "cert" and i.get("issuer_cn") == "MS-ORGANIZATION-ACCESS"]


def test_app_sso_without_platform_sso_prints_three_nulls(sim):
    p = sim.run(*APP_SSO, user="alice")
    assert p.returncode == 0
    lines = p.stdout.split("\n")
    assert re.fullmatch(r"Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000", lines[0])
    assert lines[1:] == ["", "Device Configuration:", " (null)", "", "Login Configuration:", " (null)", "", "User Configuration:", " (null)", "", ""]
    assert sim.run("/usr/bin/app-sso", "platform", "--messages").returncode == 2


def test_app_sso_platform_sso_shape(make_sim):
    sim = make_sim(scenario="platform-sso")
    p = sim.run("/usr/bin/app-sso", "platform", "--state", user="alice")
    assert p.returncode == 0
    text = p.stdout
    for head in ("Device Configuration", "Login Configuration", "User Configuration"):
        assert f"\n\n{head}:\n {{\n" in text
    assert "\nSSO Tokens:\nReceived:\n" in text and "(Not Expired)\n" in text
    assert '  "sdkVersionString" : 15.199999999999999,\n' in text and '"registrationCompleted" : true,' in text
    device = text.split("Device Configuration:\n", 1)[1].split("\n}\n", 1)[0]
    keys = re.findall(r'^  "([^"]+)" : ', device, re.M)
    assert keys == sorted(keys, key=lambda k: (not k.startswith("_"), k.casefold())) and keys[0].startswith("_")
    state = parse_platform_state(text)
    assert state.registered and state.secure_enclave and state.notes == ()
    assert state.device_id == sim.summary["psso"]["device_id"] == sim.summary["device_ids"]["alice"]
    assert state.certificate is not None and state.certificate.issuer_ok
    assert state.user is not None and state.user.kerberos[0].upn == "alice@example.com"
    # as root, and as a user without a PSSO registration: the device sections, no User Configuration, no tokens
    root = parse_platform_state(sim.run(*APP_SSO).stdout)
    assert root.registered and root.user is None and root.tokens is None


def test_get_psso_status_both_spellings_and_both_ways_of_running(make_sim):
    sim = make_sim(scenario="platform-sso")
    outs = {_asuser(sim, "alice", path, "getPSSOStatus").stdout for path in (CA, CA_UPPER)}
    outs.add(sim.run(CA, "getPSSOStatus", user="alice").stdout)
    assert len(outs) == 1
    lines = outs.pop().splitlines()
    assert lines[0] == "2" and DICT_LINE.match(lines[1]) and len(lines) == 2
    s = parse_psso_status("\n".join(lines))
    assert s.device_id == sim.summary["psso"]["device_id"] and s.upn == "alice@example.com" and s.tenant_id == sso_model.TENANT_ID


def test_get_psso_status_device_compliance_reports_the_workplace_join(make_sim):
    sim = make_sim(scenario="device-compliance")
    p = _asuser(sim, "alice", CA_UPPER, "getPSSOStatus")
    assert p.returncode == 0 and p.stdout.splitlines()[0] == "0"
    s = parse_psso_status(p.stdout)
    [cert] = _wpj_certs(sim, "alice")
    assert s.device_id == sim.summary["device_ids"]["alice"] == cert["labl"] and s.thumbprint == cert["sha1"]
    assert parse_psso_status(sim.run(CA, "getPSSOStatus").stdout).device_id is None  # root, no user session


def test_get_psso_status_shapes(make_sim):
    sim = make_sim(scenario="platform-sso")
    sso = sim.state["sso"]
    sim.set_state(sso={**sso, "psso_status_shape": "quoted"})
    quoted = sim.run(CA, "getPSSOStatus", user="alice").stdout
    assert 'AnyHashable("isSSOExtensionInFullMode"): "No"' in quoted
    sim.set_state(sso={**sso, "psso_status_shape": "status-only"})
    assert sim.run(CA, "getPSSOStatus", user="alice").stdout == "2\n"
    sim.set_state(sso={**sso, "psso_timeouts": 1})
    assert sim.run(CA, "getPSSOStatus", user="alice").stdout == "Warning:Timedout\n"
    assert sim.run(CA, "getPSSOStatus", user="alice").stdout.startswith("2\nextraDeviceInformation [")


def test_older_jamf_has_no_get_psso_status(sim):
    assert sim.run(CA, "version").stdout == "version=11.10.1\n"
    p = sim.run(CA, "getPSSOStatus", user="alice")
    assert p.returncode == 2 and "getPSSOStatus" not in p.stderr


def test_gather_aad_info_as_the_user(make_sim):
    sim = make_sim(scenario="device-compliance")
    assert sim.run(CA, "gatherAADInfo").returncode == 1  # root
    assert sim.run(CA, "gatherAADInfo", user="bob").returncode == 1  # not logged in
    p = sim.run(CA_UPPER, "gatherAADInfo", user="alice")
    assert (p.returncode, p.stdout) == (0, "Microsoft Entra ID acquired for macOS user alice\n")
    with open(sim.path("/Users/alice/Library/Preferences/com.jamf.management.jamfAAD.plist"), "rb") as f:
        prefs = plistlib.load(f)
    assert prefs["have_an_Azure_id"] is True and prefs["last_aad_token_timestamp"] > TOKEN_TS
    assert sim.state["sso"]["aad"]["alice"]["device_id"] == sim.summary["device_ids"]["alice"]


def test_gather_aad_info_without_a_registration_fails(make_sim):
    sim = make_sim(scenario="clean")  # Jamf, no Microsoft registration
    p = sim.run(CA, "gatherAADInfo", user="alice")
    assert p.returncode == 1 and "not acquired for macOS user alice" in p.stdout


def test_clean_removes_the_jamfaad_token_and_keeps_the_workplace_join(make_sim):
    sim = make_sim(scenario="device-compliance")
    cert = _wpj_certs(sim, "alice")
    p = sim.run(CA, "clean", user="alice")
    assert p.returncode == 0
    assert not [i for i in sim.login("alice")["items"] if i.get("svce") == "com.jamf.management.jamfAAD"]
    with open(sim.path("/Users/alice/Library/Preferences/com.jamf.management.jamfAAD.plist"), "rb") as f:
        assert "have_an_Azure_id" not in plistlib.load(f)
    assert _wpj_certs(sim, "alice") == cert and "alice" not in sim.state["sso"]["aad"]
    assert sim.run(CA, "gatherAADInfo", user="alice").returncode == 0  # the registration is still there: the token comes back
    assert [i for i in sim.login("alice")["items"] if i.get("svce") == "com.jamf.management.jamfAAD"]


def test_register_with_intune_without_a_tenant(make_sim):
    sim = make_sim(scenario="device-compliance")
    assert sim.run(CA, "registerWithIntune").returncode == 1  # root
    assert sim.run(CA, "registerWithIntune", user="alice").returncode == 0
    certs = _wpj_certs(sim, "alice")
    assert len(certs) == 2 and certs[1]["labl"] == sim.summary["device_ids"]["alice"]
    new = certs[0]["labl"]
    assert sim.state["registrations"][-1] == {"user": "alice", "deviceId": new, "user_upn": "alice@example.com"}
    assert parse_psso_status(sim.run(CA, "getPSSOStatus", user="alice").stdout).device_id == new


def test_profiles_list_and_show(make_sim):
    sim = make_sim(scenario="platform-sso")
    listed = sim.run("/usr/bin/profiles", "list").stdout.splitlines()
    assert listed == [
        "_computerlevel[1] attribute: profileIdentifier: 00000000-0000-0000-A000-4A414D460003",
        "_computerlevel[2] attribute: profileIdentifier: com.example.platformsso",
        "There are 2 configuration profiles installed",
    ]
    show = sim.run("/usr/bin/profiles", "show", "-type", "configuration").stdout
    assert "_computerlevel[2] \tpayload[1] type\t= com.apple.extensiblesso\n" in show
    assert sim.run("/usr/bin/profiles", "list", user="alice").stdout == "There are no configuration profiles installed\n"
    assert sim.run("/usr/bin/profiles", "status", "-type", "enrollment").stdout.startswith("Enrolled via DEP: Yes\n")


def test_platform_sso_scenario_layout(make_sim):
    sim = make_sim(scenario="platform-sso")
    alice = sim.login("alice")
    assert not _wpj_certs(sim, "alice") and not alice["identity_preferences"]
    assert not [i for i in alice["items"] if "workplacejoin" in str(i).lower() or i.get("labl") == "Microsoft Workplace Join Key"]
    assert os.path.isfile(sim.path(sso_model.SSO_APPEX + "/Contents/Info.plist"))
    ioreg = sim.run("/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").stdout
    hw = re.search(r'"IOPlatformUUID" = "([^"]+)"', ioreg).group(1)
    for user in ("alice", "bob"):
        assert os.path.isdir(sim.path(f"/Users/{user}/Library/Keychains/{hw}"))
        for name in sso_model.GROUP_CONTAINERS:
            assert os.path.isdir(sim.path(f"/Users/{user}/Library/Group Containers/{name}"))
    with open(sim.path(sso_model.JAMF_PLIST), "rb") as f:
        prefs = plistlib.load(f)
    assert prefs["microsoftCAEnabled"] is True and prefs["microsoftCANativeClientAppId"] == "b03c10a8-71c7-45f9-b44a-3335ab76e970"


def test_scenarios_are_deterministic(tmp_path):
    from cleanup.lab.simmac import create_sim_mac, load_state

    a = create_sim_mac(tmp_path / "a", scenario="platform-sso")
    b = create_sim_mac(tmp_path / "b", scenario="platform-sso")
    assert a["psso"] == b["psso"] and load_state(a["root"])["sso"] == load_state(b["root"])["sso"]


def test_tenant_id_is_the_emulated_tenants():
    from cleanup.lab.tenant.model import DEFAULT_TENANT_ID

    assert sso_model.TENANT_ID == DEFAULT_TENANT_ID


@pytest.mark.parametrize("scenario", ["default", "no-jamf"])
def test_older_scenarios_have_no_device_compliance_values(make_sim, scenario):
    sim = make_sim(scenario=scenario)
    path = sim.path(sso_model.JAMF_PLIST)
    if scenario == "no-jamf":
        assert not os.path.exists(path)
        return
    with open(path, "rb") as f:
        prefs = plistlib.load(f)
    assert "microsoftCAEnabled" not in prefs and prefs["jss_url"] == "https://example.jamfcloud.com/"
    assert "sso" not in sim.state
