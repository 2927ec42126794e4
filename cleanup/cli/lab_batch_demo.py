"""`cleanup lab demo --as batch`: a flagged group of simulated Macs reset by `cleanup batch` within the services'
limits, stopped at the wait and resumed from its ledger, then what changed for each Mac and for the rest."""

from __future__ import annotations

from pathlib import Path

from cleanup.cli.lab_personas import child_env, expect, on_a_real_fleet, run_cleanup
from cleanup.cli.render import console, lit
from cleanup.errors import CleanupError
from cleanup.lab.personas import FLAGGED_GROUP, records_of, seed_flagged_fleet, tenant_records, write_client_files
from cleanup.lab.tenant import MacIdentity, start_tenant

FLEET_SIZE = 3
CONCURRENCY, MAX_DELETIONS, INTUNE_WRITES, INTUNE_WINDOW = 10, 50, 200, 20  # the defaults of `batch run`, said out loud


def run_batch_demo(workdir: Path, wait_seconds: float, jamf_version) -> None:
    fleet = workdir / "fleet"
    # "wiped": only the unrelated devices and Macs (one of them with a serial one character off the first Mac's)
    server = start_tenant(workdir / "tenant", scenario="wiped", mac=MacIdentity(serial="C02FLEET0001", name="MBP-FLEET-1"), jamf_version=jamf_version)
    try:
        macs = seed_flagged_fleet(server, fleet, FLEET_SIZE)
        env = child_env(workdir, write_client_files(server, workdir / "client"))
        _batch(workdir, fleet, macs, server, env, wait_seconds)
    finally:
        server.stop()
    group = f'"{FLAGGED_GROUP}"'
    run = f"cleanup batch run --group {group} --playbook cause6 --host-template 'ssh://admin@{{name}}.corp.example'"
    on_a_real_fleet(
        "fleet admin",
        [
            (f"cleanup batch select --group {group}", "the smart group your extension attribute fills (docs/jamf.md), with each Mac's reasons"),
            (f"{run} --dry-run", "the plan, read-only"),
            (f"{run} --yes --no-wait", "scheduled (scripts/schedule/)"),
            ("cleanup batch resume --latest", "after a kill, a stop or the wait; no Mac twice"),
            ("cleanup batch run --rule duplicates --playbook duplicates --yes", "duplicates only, cloud-side: no Mac access needed"),
        ],
    )


def _batch(workdir: Path, fleet: Path, macs: list[dict], server, env: dict[str, str], wait_seconds: float) -> None:
    tenant = server.tenant
    before = {m["serial"]: records_of(tenant, m["serial"], m["name"]) for m in macs}
    others_before = _others(tenant_records(tenant), macs)
    console.print(
        f"[bold]A flagged fleet[/]: {len(macs)} simulated Macs in {lit(str(fleet))}, each registered twice (a stale Entra device and Intune record), "
        f"all in the Jamf Pro smart group {lit(repr(FLAGGED_GROUP))}; the tenant also holds {sum(len(v) for v in others_before.values())} records of "
        "other devices and Macs that must stay"
    )
    which = ["--group", FLAGGED_GROUP]
    status = run_cleanup(["batch", "select", *which], env)
    expect(status, (0,), "batch select")
    console.print("[bold]Within the limits[/]:")
    for line in (
        f"at most {CONCURRENCY} Macs in flight (--concurrency); Jamf Pro never sees more than 5 connections",
        f"Intune: {INTUNE_WRITES} writes per {INTUNE_WINDOW} s per app (--intune-write-limit, --intune-window), one gate for every Graph request; "
        "a 429 pauses the whole batch for its Retry-After",
        f"--max-deletions {MAX_DELETIONS}: a plan that deletes more cloud objects is refused (status 4) before anything changes",
        "a Mac in its 30-minute wait holds no worker: the batch takes one wait, not one per Mac",
    ):
        console.print(f"   {line}", markup=False)
    run = [*which, "--playbook", "cause6", "--host-template", f"sim:{fleet}/{{serial}}"]
    status = run_cleanup(["batch", "run", *run, "--dry-run"], env)
    expect(status, (0,), "the batch's dry-run")
    status = run_cleanup(["batch", "run", *run, "--yes", "--wait-seconds", f"{wait_seconds:g}", "--no-wait"], env)
    expect(status, (0, 3), "batch run")
    if status == 3:
        console.print("[bold]Status 3: only waits remain[/]; the batch stopped and its ledger holds every Mac's state. It continues:")
        status = run_cleanup(["batch", "resume", "--latest"], env)
        expect(status, (0,), "batch resume")
    status = run_cleanup(["batch", "status"], env)
    expect(status, (0,), "batch status")
    console.print(
        f"[bold]Resumable[/]: the batch's ledger ({lit(str(workdir / 'state' / 'batches'))}/BATCH/ledger.db) holds each Mac's selection, plan, "
        "state and deletions, one transaction per change. Kill the batch at any moment, or let `--no-wait` stop it at the wait (status 3): "
        "`cleanup batch resume --latest` (or the next scheduled `batch run`) finishes it, resuming each Mac's run where it stopped and never "
        "starting a Mac twice."
    )
    _show_result(macs, tenant, before, others_before, workdir)


def _others(records: dict, macs: list[dict]) -> dict[str, dict]:
    serials, names = {m["serial"] for m in macs}, {m["name"] for m in macs}
    return {
        "jamf": {k: v for k, v in records["jamf"].items() if v["serial"] not in serials},
        "entra": {k: v for k, v in records["entra"].items() if v["display_name"] not in names},
        "intune": {k: v for k, v in records["intune"].items() if v["serial"] not in serials},
    }


def _show_result(macs: list[dict], tenant, before: dict, others_before: dict, workdir: Path) -> None:
    console.print("[bold]Each flagged Mac[/] (Jamf Pro / Entra / Intune records, before -> after):")
    wrong = []
    for m in macs:
        after = records_of(tenant, m["serial"], m["name"])
        b = before[m["serial"]]
        ok = after == {"jamf": 1, "entra": 1, "intune": 1}
        wrong += [] if ok else [m["serial"]]
        console.print(
            f"   {m['serial']} {m['name']}: {b['jamf']}/{b['entra']}/{b['intune']} -> {after['jamf']}/{after['entra']}/{after['intune']}"
            + (" (registered once again)" if ok else " (NOT registered once)"),
            markup=False,
        )
    kept = _others(tenant_records(tenant), macs) == others_before
    console.print(f"[bold]Everything else in the tenant[/]: {'untouched' if kept else 'CHANGED'}")
    reports = sorted((workdir / "state" / "batches").glob("*/report.*"))
    if reports:
        console.print("[bold]Reports[/] (per Mac: reasons, steps with timings, deleted object ids, outcome): " + lit(", ".join(str(p) for p in reports)))
    if wrong or not kept:
        raise CleanupError(f"the batch did not end as it should: {', '.join(wrong) or 'other records changed'}")
