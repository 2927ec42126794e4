"""Step 0 records the Mac's registration evidence (Contract 1) and the dry-run shows it in a line or two, safely."""

import json

from cleanup.lab.simmac import sso_model
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import run_cli
from tests.support.models2026 import set_jamf_prefs

CONTRACT_KEYS = {
    "models",
    "psso_device_ids",
    "msal_device_ids",
    "jamf_ca",
    "jamf_ca_version",
    "device_compliance",
    "sso_extension",
    "sso_profiles",
    "users",
    "missing",
    "notes",
}
USER_KEYS = {"name", "uid", "logged_in", "psso_registered", "psso_device_id", "psso_status", "shared_folders"}


def _facts(mac):
    ctx = mac.context()
    return ctx.facts, mac.plan(ctx, mac.step("facts"))


def test_platform_sso_mac(sim_mac):
    mac = sim_mac(scenario="platform-sso")
    facts, plan = _facts(mac)
    reg = facts["registration"]
    assert set(reg) >= CONTRACT_KEYS and json.loads(json.dumps(reg)) == reg
    did = sso_model.psso_device_id("C02ZK1ABMD6M")
    assert reg["models"] == ["platform-sso", "device-compliance"] and reg["psso_device_ids"] == [did]
    assert reg["msal_device_ids"] == {"alice": did} and reg["sso_profiles"] == ["com.example.platformsso"] and reg["sso_extension"] is True
    assert reg["device_compliance"] == {"enabled": True, "client_id": sso_model.USER_REGISTRATION_APP_ID, "tenant_domain": "example.com"}
    assert reg["jamf_ca_version"] == "11.24.0" and reg["jamf_ca"].endswith("/Jamf Conditional Access")
    alice, bob = reg["users"]
    assert set(alice) >= USER_KEYS
    assert alice["psso_registered"] and alice["psso_device_id"] == did and alice["psso_status"] == 2 and alice["logged_in"]
    assert not bob["logged_in"] and bob["psso_status"] is None and not bob["psso_registered"]
    hw = sso_model.hardware_uuid("C02ZK1ABMD6M")
    assert f"/Users/bob/Library/Keychains/{hw}" in bob["shared_folders"]
    line = plan.notes[0]
    assert line == (
        f"on the Mac: Platform SSO registered for alice (deviceId {did}, Secure Enclave key); "
        f"Device Compliance on (User registration app {sso_model.USER_REGISTRATION_APP_ID})"
    )
    assert "com.example.platformsso" in plan.notes[1] and "step 2 (jamf removeMdmProfile) takes the profiles the MDM installed" in plan.notes[1]


def test_device_compliance_mac(sim_mac):
    mac = sim_mac(scenario="device-compliance")
    facts, plan = _facts(mac)
    reg = facts["registration"]
    assert reg["models"] == ["device-compliance"] and reg["psso_device_ids"] == [] and reg["sso_profiles"] == []
    assert reg["msal_device_ids"] == {"alice": facts["entra_device_ids"]["alice"][0]}  # MSAL sees the Workplace Join
    assert plan.notes[0].startswith("on the Mac: no Platform SSO registration") and "Device Compliance on (User registration app b03c10a8-" in plan.notes[0]


def test_legacy_mac_says_so_in_one_line(sim_mac):
    mac = sim_mac()
    facts, plan = _facts(mac)
    reg = facts["registration"]
    assert reg["models"] == [] and reg["device_compliance"] is None and reg["jamf_ca_version"] == "11.10.1"
    lines = [n for n in plan.notes if n.startswith("on the Mac:")]
    assert lines == ["on the Mac: no Platform SSO registration; no Device Compliance values in com.jamfsoftware.jamf.plist"]


def test_step0_reads_users_and_sessions_once(sim_mac):
    """The evidence reader reuses step 0's user list and session answer: no second dscl or ps."""
    mac = sim_mac(scenario="platform-sso")
    calls = []
    run = mac.host.run

    def counting(argv, **kw):
        calls.append(list(argv))
        return run(argv, **kw)

    mac.host.run = counting
    mac.context()
    assert sum(1 for a in calls if a[0] == "/usr/bin/dscl") == 2  # UniqueID and NFSHomeDirectory, once each
    assert sum(1 for a in calls if a[0] == "/bin/ps") == 1


def test_hostile_plist_values_are_shown_escaped(make_mac, state_dir):
    mac = make_mac(scenario="device-compliance")
    set_jamf_prefs(mac, microsoftCAEnabled=True, microsoftCANativeClientAppId="\x1b[2J[bold red]evil[/]\nline two")
    before = tree_manifest(mac)
    res = run_cli("plan", "--host", f"sim:{mac}", "--only", "device", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert tree_manifest(mac) == before
    assert "\x1b" not in res.stdout and "line two" not in res.stdout.replace("\\nline two", "")
    line = next(x for x in res.stdout.splitlines() if "on the Mac:" in x)
    assert "Device Compliance not on (microsoftCAEnabled True, client id '\\x1b[2J[bold red]evil[/]\\nline two')" in line
    data = json.loads(run_cli("plan", "--host", f"sim:{mac}", "--only", "device", "--json", state_dir=state_dir).stdout)["data"]
    assert data["facts"]["registration"]["device_compliance"]["client_id"] == "\x1b[2J[bold red]evil[/]\nline two"
