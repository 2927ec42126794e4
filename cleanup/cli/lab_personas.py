"""`cleanup lab demo --as helpdesk | technician | batch | jamf-policy`: each user's path through cleanup, tried in
the lab. The technician's is the demo of cli/lab_demo.py; the others run the real command lines a helpdesk, a
fleet admin or a Jamf policy would run, each in a process of its own against the simulated Mac(s) and the
emulated tenant, then show what that did in each system and end with the command lines of a real fleet."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

import cleanup
from cleanup.cli.render import console, lit
from cleanup.errors import CleanupError, UsageError
from cleanup.lab.personas import identities, requests_seen, tenant_records, write_client_files
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.snapshot import tree_manifest
from cleanup.selfexec import cleanup_argv

PERSONAS = ("helpdesk", "technician", "batch", "jamf-policy")
LOG_INDENT = "   │ "


def check_persona(name: str) -> str:
    if name not in PERSONAS:
        raise UsageError(f"--as takes {', '.join(PERSONAS)}, not {name!r}")
    return name


def run_persona(persona: str, workdir: Path, wait_seconds: float, scenario: str, jamf_version) -> None:
    """Run one persona's demo in ``workdir`` (the simulated Mac(s), the tenant, the state folder)."""
    if persona == "technician":
        from cleanup.cli.lab_demo import run_demo

        run_demo(workdir, wait_seconds, scenario, jamf_version=jamf_version)
    elif persona == "helpdesk":
        run_helpdesk(workdir, scenario, jamf_version)
    elif persona == "batch":
        from cleanup.cli.lab_batch_demo import run_batch_demo

        run_batch_demo(workdir, wait_seconds, jamf_version)
    else:
        from cleanup.cli.lab_policy_demo import run_policy_demo

        run_policy_demo(workdir, wait_seconds, scenario, jamf_version)


# -- the processes a persona starts -----------------------------------------------------------------------------


def child_env(workdir: Path, cloud: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a `cleanup` the persona starts: the demo's state folder, the given cloud identity and
    nothing of the caller's own CLEANUP_* settings (their config and secrets never reach the lab)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
    env["CLEANUP_STATE_DIR"] = str(workdir / "state")
    env["CLEANUP_CONFIG"] = str(workdir / "no-config.toml")  # absent: no cloud unless the persona gives one
    env.update(cloud or {})
    here = str(Path(cleanup.__file__).resolve().parents[1])  # this same cleanup, wherever the child starts
    env["PYTHONPATH"] = os.pathsep.join([here, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env.setdefault("COLUMNS", str(max(console.width, 160)))
    env["PYTHONUNBUFFERED"] = "1"  # its stdout and stderr share one pipe: lines in the order they were written
    env.update(extra)
    return env


def show_command(shown: Sequence[str], where: str = "") -> None:
    console.print(f"[bold]$ {lit(shlex.join(shown))}[/]" + (f"   [dim]({lit(where)})[/]" if where else ""))


def run_logged(argv: Sequence[str], env: dict[str, str], shown: Sequence[str] | None = None, where: str = "") -> int:
    """Run ``argv``, printing its output (stdout and stderr) line by line as it comes, indented; returns its status."""
    show_command(shown if shown is not None else argv, where)
    with subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env) as proc:
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            console.print(LOG_INDENT + line.rstrip("\n"), markup=False)
    console.print(f"   [dim]exit status {proc.returncode}[/]")
    return proc.returncode


def run_cleanup(args: Sequence[str], env: dict[str, str], where: str = "") -> int:
    """`cleanup ARGS` in a process of its own, shown as the user types it."""
    return run_logged([*cleanup_argv(), *args], env, ["cleanup", *args], where)


def expect(status: int, wanted: Sequence[int], what: str) -> None:
    if status not in wanted:
        raise CleanupError(f"the demo stopped: {what} exited with status {status} (see its output above)")


def on_a_real_fleet(who: str, lines: Sequence[tuple[str, str]]) -> None:
    """The persona's closing summary: what that user runs on real Macs, with what each line does."""
    console.print(f"[bold]On a real fleet, the {who}[/]:")
    width = max(len(cmd) for cmd, _ in lines)
    for cmd, why in lines:
        console.print(f"   {cmd.ljust(width)}   # {why}" if why else f"   {cmd}", markup=False)


# -- helpdesk ----------------------------------------------------------------------------------------------------


def run_helpdesk(workdir: Path, scenario: str, jamf_version) -> None:
    from cleanup.cli.lab_demo import MAC_SCENARIOS, lab_tenant

    mac = workdir / "mac"
    info = create_sim_mac(mac, users=["alice", "bob"], logged_out=["bob"], scenario=scenario if scenario in MAC_SCENARIOS else "default")
    server = lab_tenant(workdir, info, scenario, jamf_version)
    try:
        cloud = write_client_files(server, workdir / "helpdesk", "readonly")
        ids, creds = identities(server, "readonly"), server.credentials
        console.print(f"[bold]Helpdesk[/]: what would a reset of Mac {info['serial']} ({info['computer_name']}) remove? A dry-run, changing nothing.")
        roles = ", ".join(server.tenant.api_roles["2"]["privileges"])
        console.print(f"   Jamf Pro API client {ids['jamf']} (role 'cleanup read-only': {roles})", markup=False)
        console.print(f"   Graph app {ids['graph']} ({', '.join(creds['graph_apps']['readonly']['roles'])})", markup=False)
        console.print(f"   their client files: {workdir / 'helpdesk' / 'config.toml'} and secrets.env (0600)", markup=False)
        before_mac, before_cloud = tree_manifest(mac), tenant_records(server.tenant)
        server.reset_stats()
        env = child_env(workdir, cloud)
        status = run_cleanup(["plan", "--host", f"sim:{mac}"], env, where="CLEANUP_CONFIG=helpdesk/config.toml, secrets from helpdesk/secrets.env")
        expect(status, (0, 4), "the dry-run")
        if status == 4:
            console.print("   status 4: the plan lists an ambiguity a run would refuse on until the operator chooses (--jamf-record, --entra-device)")
        _prove_nothing_changed(workdir, mac, server, before_mac, before_cloud, ids)
    finally:
        server.stop()
    on_a_real_fleet(
        "helpdesk",
        [
            ("cleanup creds set jamf && cleanup creds set graph", "a read-only API client and app (docs/cloud.md)"),
            ("cleanup plan --host ssh://admin@mac42.corp.example", "the whole reset's dry-run: the Mac and each cloud; nothing changed, no run recorded"),
            (f"cleanup plan --only cloud --serial {info['serial']}", "the cloud part for a Mac that was wiped or is offline"),
            (f"cleanup diagnose --serial {info['serial']}", "the article's troubleshooting table as read-only checks"),
        ],
    )


def _prove_nothing_changed(workdir: Path, mac: Path, server, before_mac: dict, before_cloud: dict, ids: dict[str, str]) -> None:
    after_mac, after_cloud = tree_manifest(mac), tenant_records(server.tenant)
    seen = requests_seen(server)
    runs = sorted(p.name for p in (workdir / "state" / "runs").iterdir()) if (workdir / "state" / "runs").is_dir() else []
    problems = []
    if after_mac != before_mac:
        problems.append("the simulated Mac changed")
    if after_cloud != before_cloud:
        problems.append("the tenant's records changed")
    if seen["writes"]:
        problems.append(f"writes were sent: {seen['writes']}")
    if seen["principals"]["jamf"] != [ids["jamf"]] or seen["principals"]["graph"] != [ids["graph"]]:
        problems.append(f"other identities were let in: {seen['principals']}")
    if runs:
        problems.append(f"a run was recorded: {', '.join(runs)}")
    console.print("[bold]What the dry-run changed[/]:")
    console.print(f"   the Mac: {'nothing' if after_mac == before_mac else 'CHANGED'} ({len(before_mac)} paths compared before and after)", markup=False)
    kinds = (("jamf", "Jamf Pro records"), ("entra", "Entra devices"), ("intune", "Intune records"))
    counts = ", ".join(f"{len(before_cloud[k])} {label}" for k, label in kinds)
    console.print(f"   the tenant: {'nothing' if after_cloud == before_cloud else 'CHANGED'} ({counts}; no delete, no escrowed secret viewed)", markup=False)
    inside = f" ({seen['batch_items']} of them inside {seen['batches']} $batch request(s))" if seen["batches"] else ""
    writes = sum(seen["writes"].values())
    console.print(f"   requests: {seen['reads']} reads{inside}, {seen['tokens']} token requests, {writes} writes", markup=False)
    jamf, graph = ", ".join(seen["principals"]["jamf"]), ", ".join(seen["principals"]["graph"])
    console.print(f"   let in: Jamf Pro API client {jamf}, Graph app {graph} (the read-only ones)", markup=False)
    console.print(f"   runs recorded in {workdir / 'state'}: {len(runs)}", markup=False)
    if problems:
        raise CleanupError("the helpdesk's dry-run was not read-only: " + "; ".join(problems))
