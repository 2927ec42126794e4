"""Platform SSO repair as an operator step (12, repair-platform-sso): the run pauses with the exact instructions, and
on resume goes on only once `app-sso platform -s` shows a completed registration with a new deviceId."""

from cleanup.engine.action import PauseKind
from cleanup.lab.simmac import sso_model
from tests.support import cloudlab
from tests.support.lab import lab_state, one_error, run_cli, set_lab_state
from tests.support.models2026 import Driver

SERIAL = "C02ZK1ABMD6M"
OLD = sso_model.psso_device_id(SERIAL)
NEW = sso_model.psso_device_id(SERIAL, 1)
SYSTEM_SETTINGS = "System Settings → Users & Groups → Network Account Server → Edit → Repair"

make_lab = cloudlab.make_lab  # the emulated tenant fixture (tests/actions has no conftest for it)


def test_placed_after_re_enrollment_and_before_the_registration_policy():
    from cleanup.engine.loader import load_playbook

    ids = [s.id for s in load_playbook("cause6").steps]
    assert ids.index("re-enroll") + 1 == ids.index("repair-platform-sso") == ids.index("start-registration") - 1


def test_no_op_on_a_mac_without_platform_sso(sim_mac):
    for scenario in ("default", "device-compliance"):
        mac = sim_mac(scenario=scenario)
        plan = mac.plan(mac.context(), mac.step("repair-platform-sso"))
        assert not plan.changes and plan.noop_reason == "Platform SSO is not in use on this Mac (step 0): nothing to repair"


def test_dry_run_names_the_pause_and_its_instructions(make_mac, state_dir):
    mac = make_mac(scenario="platform-sso")
    res = run_cli("plan", "--host", f"sim:{mac}", "--only", "device", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("12 repair-platform-sso"))
    assert f"would pause here for the operator: repair Platform SSO as alice: at the Mac, logged in as alice, {SYSTEM_SETTINGS} (macOS 15.5)" in line


def test_pause_resume_and_the_check(make_mac, store, state_dir):
    mac = make_mac(scenario="platform-sso", logged_out=[])
    drive = Driver(store, mac)
    paused = drive.until("psso-repair:alice")
    assert paused.pause.kind == PauseKind.BLOCKED and paused.pause.waiting_for == ("psso-repair:alice",)
    assert f"repair Platform SSO as alice: at the Mac, logged in as alice, {SYSTEM_SETTINGS} (macOS 15.5), and sign in" in paused.message
    # not repaired yet: the Mac shows the registration from before the reset, whose deviceId step 0 recorded
    assert f"still shows deviceId {OLD}, which step 0 recorded" in paused.message
    assert drive.step().pause.waiting_for == ("psso-repair:alice",)

    set_lab_state(mac, logged_in=["bob"], console_user="bob")
    assert "alice is not logged in" in drive.step().message
    set_lab_state(mac, logged_in=["alice", "bob"], console_user="alice")

    res = run_cli("lab", "mac", "psso-repair", mac, "--user", "alice", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert f"new deviceId {NEW}" in res.stdout
    drive.finish()
    state = drive.state()
    assert state.status == "done"
    data = state.step("repair-platform-sso").data
    assert data["psso"]["user"] == "alice" and data["psso"]["device_id"] == NEW and isinstance(data["psso"]["checked_at"], float)
    assert "psso_pending" not in data
    assert state.step("repair-platform-sso").outcome == f"Platform SSO repaired as alice: the registration is completed with the new deviceId {NEW}"


def test_macos_13_is_told_the_company_portal_way(make_mac, store):
    mac = make_mac(scenario="platform-sso", logged_out=[])
    set_lab_state(mac, os_version="13.6.1")
    paused = Driver(store, mac).until("psso-repair:alice")
    assert "Company Portal → Preferences → Deregister, then register (macOS 13.6.1)" in paused.message


def test_the_lab_command_refuses_what_a_user_could_not_do(make_mac, state_dir):
    dc = make_mac("dc", scenario="device-compliance")
    assert "has no Platform SSO" in one_error(run_cli("lab", "mac", "psso-repair", dc, "--user", "alice", state_dir=state_dir), 2)
    mac = make_mac("psso", scenario="platform-sso")  # bob is logged out
    assert "bob is not logged in" in one_error(run_cli("lab", "mac", "psso-repair", mac, "--user", "bob", state_dir=state_dir), 2)
    state = lab_state(mac)
    state["mdm"]["enrolled"] = False  # the MDM profile, and with it the Platform SSO profile, are gone
    set_lab_state(mac, mdm=state["mdm"])
    assert "no Extensible SSO profile is installed" in one_error(run_cli("lab", "mac", "psso-repair", mac, "--user", "alice", state_dir=state_dir), 2)
    assert lab_state(mac)["sso"]["psso"]["device_id"] == OLD


def test_on_a_linked_mac_the_tenant_gets_the_new_registration(make_lab, state_dir):
    lab = make_lab("platform-sso", mac_scenario="platform-sso", users=("alice", "bob"), logged_out=("bob",))
    res = run_cli("lab", "mac", "psso-repair", lab.mac, "--user", "alice", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert "and in the linked tenant" in res.stdout
    with lab.tenant.lock:
        devices = [d for d in lab.tenant.entra.values() if d.device_id == NEW]
    assert len(devices) == 1 and devices[0].trust_type == "AzureAd" and devices[0].operating_system == "macOS"
    assert lab_state(lab.mac)["registrations"][-1]["tenant"]["deviceId"] == NEW
