"""`cleanup lab demo --as jamf-policy`: the Jamf policy script (scripts/jamf/cleanup-policy.sh, docs/jamf.md) run as
Jamf runs it, with its positional arguments, against the simulated Mac: the device half. The cloud half runs from
the admin's machine (`cleanup run --only cloud`, its own state folder), and the end is verified.

The order is the one docs/jamf.md gives: the policy runs the device steps until the restart; the admin's cloud half
deletes the Mac's records once step 3 is done, before the Mac re-enrolls; at boot the resume LaunchDaemon continues
the device run (the lab runs its command, as the technician demo resumes after the restart) through the wait to
re-enrollment and registration; the policy run again at the next check-in does nothing; then the cloud half's
resume verifies the new registration."""

from __future__ import annotations

import shlex
from pathlib import Path

from cleanup.cli.lab_personas import child_env, expect, on_a_real_fleet, run_cleanup, run_logged
from cleanup.cli.render import console, lit
from cleanup.engine.store import StateStore
from cleanup.errors import CleanupError, UsageError
from cleanup.lab.personas import POLICY_SCRIPT, policy_script, write_client_files
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.selfexec import cleanup_argv

JAMF_MOUNT = "/"  # $1: the target drive's mount point, "/" on a booted Mac
RESTART_TEXT = "IT is repairing the registration of this Mac with Microsoft. It restarts now and is back in a few minutes."
REGISTER_TEXT = "To finish the repair, open Self Service and run Register with Microsoft Entra ID."


def run_policy_demo(workdir: Path, wait_seconds: float, scenario: str, jamf_version) -> None:
    from cleanup.cli.lab_demo import MAC_SCENARIOS, cloud_view, escrow_key_pair, lab_tenant, show_cloud_change

    script = policy_script()
    if script is None:
        raise UsageError(f"--as jamf-policy runs {POLICY_SCRIPT} of a source checkout; this cleanup is installed without it")
    argv = cleanup_argv()
    if any(not part or part.split() != [part] for part in argv):  # the script splits CLEANUP_BIN on spaces
        raise UsageError(f"--as jamf-policy needs an interpreter path without spaces: {' '.join(argv)}")
    mac = workdir / "mac"
    info = create_sim_mac(mac, users=["alice"], scenario=scenario if scenario in MAC_SCENARIOS else "default", swift_dialog=True)
    server = lab_tenant(workdir, info, scenario, jamf_version)
    serial, name, user = info["serial"], info["computer_name"], info["users"][0]
    mac_state, admin_state = workdir / "state", workdir / "admin" / "state"
    try:
        before = cloud_view(server.tenant, serial, name)
        policy_env = child_env(workdir, CLEANUP_HOST=f"sim:{mac}", CLEANUP_BIN=" ".join(argv))
        _, recipient = escrow_key_pair(workdir / "admin" / "escrow")  # step 4 saves what the Jamf Pro record escrowed, encrypted to it
        admin_env = child_env(
            workdir,
            write_client_files(server, workdir / "admin" / "client"),
            CLEANUP_STATE_DIR=str(admin_state),
            CLEANUP_ESCROW_STORE="file",
            CLEANUP_ESCROW_RECIPIENT=str(recipient),
            CLEANUP_ESCROW_DIR=str(workdir / "admin" / "escrow" / "saved"),
        )
        console.print(
            f"[bold]Jamf policy[/] on simulated Mac {lit(serial)} ({lit(name)}, {lit(user)} at the console, swiftDialog installed): Jamf runs the "
            "script as root with $1 the mount point, $2 the computer name, $3 the user name and $4-$11 the policy's parameters. The device "
            "half only: no API secret on the Mac."
        )
        minutes = int(wait_seconds // 60)
        if wait_seconds % 60:
            console.print(
                f"   $6 (the wait) takes whole minutes: the policy gets {minutes}, the cloud half keeps the demo's {wait_seconds:g} s (--wait-seconds)",
                markup=False,
            )
        args = [JAMF_MOUNT, name, user, "reset", "all", str(minutes), "auto", RESTART_TEXT, REGISTER_TEXT, "", ""]
        _policy(script, args, policy_env, "The policy runs: the device steps until the restart")
        device_run = _only_run(mac_state)
        console.print("[bold]The admin's cloud half[/], from the admin's machine (its own state folder), once the policy log shows step 3 done:")
        cloud = ["run", "--only", "cloud", "--serial", serial, "--yes", "--wait-seconds", f"{wait_seconds:g}", "--no-wait"]
        status = run_cleanup(cloud, admin_env, where="the admin's machine")
        expect(status, (0, 3), "the cloud half")
        daemon = ["resume", device_run, "--state-dir", str(mac_state), "--no-autoresume", "--yes"]
        console.print(
            f"[bold]>> the Mac restarts[/]; at boot the one-shot LaunchDaemon runs `cleanup {lit(shlex.join(daemon))}` (on a simulated Mac, "
            "which is not this Mac, nothing was installed in launchd: the lab runs that command, as the technician demo resumes after the restart; "
            "running the policy again would resume the run the same way)"
        )
        status = run_logged([*argv, *daemon], child_env(workdir), ["cleanup", *daemon], "the LaunchDaemon, at boot")
        expect(status, (0, 3), "the device half's resume")
        for _ in range(3):
            if StateStore(mac_state).load(device_run)[0].status == "done":
                break
            _user_acts(mac, mac_state, device_run, user)
            _policy(script, args, policy_env, "Jamf runs the policy again at the next check-in: it resumes the run")
        else:
            raise CleanupError(f"the device half's run {device_run} did not finish")
        _policy(script, args, policy_env, "Jamf runs the policy again at the next check-in (a recurring policy)")
        if StateStore(mac_state).run_ids() != [device_run]:
            raise CleanupError("the policy started a second run on a Mac whose run had just finished")
        cloud_run = _only_run(admin_state)
        status = run_cleanup(["resume", cloud_run, "--yes"], admin_env, where="the admin's machine, after the wait")
        expect(status, (0,), "the cloud half's resume")
        _check_verified(admin_state, cloud_run)
        console.print(f"[bold]In the cloud[/] (records of serial {lit(serial)}):")
        show_cloud_change(before, cloud_view(server.tenant, serial, name))
        status = run_cleanup(["lab", "mac", "notifications", str(mac)], child_env(workdir), where="what alice was shown")
        expect(status, (0,), "lab mac notifications")
        log = mac_state / "cleanup-policy.log"
        if log.is_file():
            console.print(f"The policy's own log on the Mac (on a Mac /var/log/cleanup-policy.log: step 4 deletes Jamf Pro's policy logs): {lit(str(log))}")
    finally:
        server.stop()
    on_a_real_fleet(
        "Jamf admin",
        [
            ("/Library/Management/cleanup/cleanup.pyz", "on every Mac: a package or a policy drops it (docs/deploy.md)"),
            (f"policy: {POLICY_SCRIPT.rsplit('/', 1)[-1]}  $4 reset  $5 all  $6 30  $7 auto", "scoped to the smart group of broken Macs (docs/jamf.md)"),
            (f"cleanup run --only cloud --serial {serial} --yes --no-wait", "the admin's machine, once the policy log shows step 3 done"),
            ("cleanup resume --latest --yes", "after the wait: verifies the new registration"),
        ],
    )


def _policy(script: Path, args: list[str], env: dict[str, str], what: str) -> None:
    console.print(f"[bold]{lit(what)}[/] (its output is the policy log Jamf Pro keeps):")
    status = run_logged(["/bin/sh", str(script), *args], env, ["sh", POLICY_SCRIPT, *args], "as root, by jamf policy")
    expect(status, (0,), "the policy script")


def _user_acts(mac: Path, state: Path, run_id: str, user: str) -> None:
    """What the person at the Mac does where the device half paused for them (lab: the equivalent)."""
    from cleanup.lab.simmac.psso_repair import repair

    run, _ = StateStore(state).load(run_id)
    stopped = [s.id for s in run.steps if s.state in ("paused", "blocked")]
    if stopped != ["repair-platform-sso"]:
        raise CleanupError(f"the device half's run {run_id} stopped at {', '.join(stopped) or 'no step'}; the demo has no lab action for that")
    done = repair(mac, user)
    console.print(f"[bold]>> {lit(user)} repairs Platform SSO[/] as the pause says (lab: `cleanup lab mac psso-repair`): new deviceId {lit(done['device_id'])}")


def _only_run(state: Path) -> str:
    runs = StateStore(state).run_ids()
    if len(runs) != 1:
        raise CleanupError(f"the demo expected one run in {state}, found {len(runs)}")
    return runs[0]


def _check_verified(state: Path, run_id: str) -> None:
    run, _ = StateStore(state).load(run_id)
    verify = run.step("verify-registration")
    if run.status != "done" or verify.state != "done":
        raise CleanupError(f"the cloud half's run {run_id} ended {run.status}, its verification {verify.state}")
    console.print(f"[bold green]verified[/]: the cloud half's run {lit(run_id)} is done; step 13: {lit(verify.outcome)}")
