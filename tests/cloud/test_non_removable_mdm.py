"""A non-removable (ADE) MDM profile: the Mac cannot remove it, so step 2 sends Jamf Pro's Remove MDM Profile
command to the Mac's one recorded record, and continues once the Mac has acted on it."""

from __future__ import annotations

from tests.support.lab import audit_events, drive_cli, lab_state, run_cli

TO_STEP_3 = ("--yes", "--wait-seconds", "0", "--to", "remove-framework")


def test_step_2_sends_the_remove_mdm_profile_command_once_and_continues(make_lab, state_dir, store):
    lab = make_lab("clean", mac_scenario="non-removable-mdm")
    jamf_id = lab.of_serial()["jamf"][0]
    res, outs = drive_cli(["run", "--host", f"sim:{lab.mac}", *TO_STEP_3], lab.env(), state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    commands = lab.tenant.mdm_commands
    assert [(c["deviceId"], c["command"]) for c in commands] == [(jamf_id, "REMOVE_MDM_PROFILE")]
    assert lab_state(lab.mac)["mdm"]["enrolled"] is False
    run, _ = store.load(store.latest())
    assert run.step("remove-mdm-profile").state == "done" and run.step("remove-framework").state == "done"
    results = [e for e in audit_events(state_dir) if e["event"] == "result" and e["step"] == "remove-mdm-profile"]
    assert len(results) == 1 and commands[0]["commandUuid"] in results[0]["result"]


def test_without_the_privilege_the_step_is_blocked_with_the_manual_instruction(make_lab, state_dir):
    lab = make_lab("clean", mac_scenario="non-removable-mdm")
    lab.tenant.api_roles["1"]["privileges"].remove("Send Computer Unmanage Command")
    res = run_cli("run", "--host", f"sim:{lab.mac}", *TO_STEP_3, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 3 and "Remove MDM Profile command failed" in res.stderr
    assert lab.tenant.mdm_commands == [] and lab_state(lab.mac)["mdm"]["enrolled"] is True
