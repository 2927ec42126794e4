"""Re-registration (steps 12-13) as the user: the registration policy as root by default (Jamf runs its payload for
the console user), or `Jamf Conditional Access registerWithIntune` as the console user; never Company Portal's own
sign-in, never gatherAADInfo as root. The lab's registration follows the tenant's model."""

import dataclasses
import json

import pytest

from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.hosts import open_host
from cleanup.hosts.registration import JAMF_CA_PATHS
from cleanup.lab.simmac.psso_repair import repair
from tests.support import cloudlab
from tests.support.lab import REPO, keychain, lab_state
from tests.support.models2026 import Driver, ca_calls
from tests.support.simmac import login_kc

CA = JAMF_CA_PATHS[0]
REGISTER_AS_USER = (REPO / "playbooks/cause6.toml").read_text().replace("register_with_intune = false", "register_with_intune = true")

make_lab = cloudlab.make_lab  # the emulated tenant fixture (tests/actions has no conftest for it)


def _step13(mac, **params):
    step = mac.step("start-registration")
    return dataclasses.replace(step, params={**step.params, **params})


def test_the_policy_as_root_stays_the_default(sim_mac):
    mac = sim_mac(scenario="device-compliance")
    plan = mac.plan(mac.context(), mac.step("start-registration"))
    assert [c.details["argv"] for c in plan.changes] == [["/usr/local/jamf/bin/jamf", "policy", "-event", "intune-registration"]]
    assert "as_user" not in plan.changes[0].details


def test_register_with_intune_runs_as_the_console_user(sim_mac):
    mac = sim_mac(scenario="device-compliance")
    plan = mac.plan(mac.context(), _step13(mac, register_with_intune=True))
    [change] = plan.changes
    assert change.details == {"argv": [CA, "registerWithIntune"], "as_user": "alice", "once": True}
    assert change.target == f"/bin/launchctl asuser 501 /usr/bin/sudo -u alice '{CA}' registerWithIntune"


def test_register_with_intune_waits_for_a_console_user(sim_mac):
    mac = sim_mac(scenario="device-compliance", users=["alice"], logged_out=["alice"])
    plan = mac.plan(mac.context(), _step13(mac, register_with_intune=True))
    assert not plan.changes and plan.blocked == ["nobody is logged in at the Mac: registerWithIntune runs as the console user; `cleanup resume` retries"]


@pytest.mark.parametrize("scenario", ["default", "device-compliance", "platform-sso"])
def test_no_plan_of_any_step_runs_gather_aad_info_or_company_portal(sim_mac, scenario):
    mac = sim_mac(scenario=scenario, logged_out=[])
    ctx = mac.context(dry_run=True)
    for step in mac.playbook.steps:
        if step.acts_on != "device":
            continue
        for variant in (step, _step13(mac, register_with_intune=True)) if step.id == "start-registration" else (step,):
            for change in mac.plan(ctx, variant).changes:
                argv = change.details.get("argv") or []
                assert "gatherAADInfo" not in argv, (step.id, argv)
                assert not any("Company Portal.app/Contents/MacOS" in a for a in argv), (step.id, argv)


def _registration_items(mac, user="alice"):
    return [i for i in keychain(mac, login_kc(user))["items"] if i.get("lab_origin") == "registration"]


@pytest.mark.parametrize("as_user", [False, True])
def test_device_compliance_registration_on_a_device_compliance_tenant(make_lab, store, tmp_path, as_user):
    lab = make_lab("device-compliance", mac_scenario="device-compliance", users=("alice", "bob"))
    playbook = tmp_path / "cause6-as-user.toml"
    playbook.write_text(REGISTER_AS_USER)
    with lab.tenant.lock:
        intune_before = sorted(lab.tenant.intune)
    Driver(store, lab.mac, playbook=str(playbook) if as_user else "cause6").finish()
    calls = ca_calls(lab.mac)
    assert all(c["uid"] != 0 for c in calls) and not any(c["verb"] == "gatherAADInfo" for c in calls)
    assert [c for c in calls if c["verb"] == "registerWithIntune"] == ([{"verb": "registerWithIntune", "user": "alice", "uid": 501}] if as_user else [])
    reg = lab_state(lab.mac)["registrations"][-1]
    assert reg["intune_id"] is None  # Device Compliance: the tenant keeps no Intune record
    with lab.tenant.lock:
        assert sorted(lab.tenant.intune) == intune_before
        device = lab.tenant.entra_by_device_id(reg["deviceId"])
        assert device is not None and device.trust_type == "Workplace"
    # Company Portal's Workplace Join: the new registration's certificate names the new deviceId
    assert any(i["class"] == "cert" and i["labl"] == reg["deviceId"] for i in _registration_items(lab.mac))


def test_platform_sso_registration_adds_no_workplace_join(make_lab, store):
    lab = make_lab("platform-sso", mac_scenario="platform-sso", users=("alice", "bob"))
    drive = Driver(store, lab.mac)
    drive.until("psso-repair:alice")
    new = repair(lab.mac, "alice")["device_id"]
    drive.finish()
    assert _registration_items(lab.mac) == []
    regs = lab_state(lab.mac)["registrations"]
    assert [(r["via"], r["deviceId"]) for r in regs] == [("repair", new), ("policy", new)]
    assert all(c["uid"] != 0 for c in ca_calls(lab.mac))


def test_gather_aad_info_is_refused_as_root_by_the_lab_and_recorded(make_mac):
    """The fake records refused calls too, so the tests above would see a root call."""
    import subprocess

    mac = make_mac(scenario="device-compliance")
    res = subprocess.run([str(mac / CA.lstrip("/")), "gatherAADInfo"], capture_output=True, text=True)
    assert res.returncode == 1 and "not as root" in res.stderr
    assert ca_calls(mac) == [{"verb": "gatherAADInfo", "user": "root", "uid": 0}]


def test_a_run_with_register_with_intune_records_who_ran_it(make_mac, store, tmp_path):
    mac = make_mac(scenario="device-compliance", logged_out=[])
    playbook = tmp_path / "p.toml"
    playbook.write_text(REGISTER_AS_USER)
    runner = Runner(store, open_host(f"sim:{mac}"), load_playbook(str(playbook)), RunOptions(yes=True, wait_seconds=0, autoresume=False))
    runner.start(Selection(only="device", start="start-registration", stop="start-registration"))
    audit = [json.loads(line) for line in (store.run_dir(runner.run_id) / "audit.jsonl").read_text().splitlines()]
    [intent] = [e for e in audit if e.get("event") == "intent"]
    assert intent["details"]["as_user"] == "alice" and intent["details"]["argv"] == [CA, "registerWithIntune"]
    assert ca_calls(mac) == [{"verb": "registerWithIntune", "user": "alice", "uid": 501}]
