"""HTTP requests and wall time per full Cause 6 reset against the emulated tenant, versus the lower bound.

Each case builds a simulated Mac registered the tenant's way (the legacy scenarios: the default Mac; a Device
Compliance or legacy-leftovers tenant: a ``device-compliance`` Mac; a Platform SSO tenant: a ``platform-sso`` Mac,
whose repair pause is done as ``cleanup lab demo`` does it), starts the emulator with a per-request latency
(default 50 ms), runs the whole cause6 playbook in-process (the same Runner as the CLI; the 30-minute wait set to
0 s) and counts the requests the emulator served, by route.

Lower bound: token acquisition (the Jamf token, and MSAL's discovery + token for Graph), then per service one
lookup per record of the Mac (at least one: a service that holds nothing must still be asked, as Intune is for a
Device Compliance Mac, whose legacy leftovers step 11 deletes) and one delete per record. For the legacy Mac
(1/1/1) that is 9; for a Device Compliance or Platform SSO Mac (a Jamf record, one Entra device, no Intune record)
3 + 2 + 2 + 1 = 8. What the model adds (the compliance partners, Jamf Pro's device-compliance information) is
evidence, like the re-read before each delete: above the bound by design. The verification of steps 12-13 is
reported on its own line: it is extra reads by design.

    python scripts/bench_cloud.py [--latency-ms 50] [--repeat 3] [--scenario NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cleanup.actions  # noqa: F401 - registers the actions with the engine, as the CLI does
from cleanup.engine.action import Pause
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.reporter import Reporter
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts import open_host
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.tenant_link import link
from cleanup.lab.tenant import Faults, MacIdentity, start_tenant
from cleanup.lab.tenant.clientfiles import lab_cloud_opener

TOKEN_ROUTES = ("POST /api/oauth/token", "POST /api/v1/auth/token")
#: tenant scenario -> the simulated Mac's scenario (a Mac registered the tenant's way, as `cleanup lab demo` pairs them)
SCENARIOS = {
    "clean": "default",
    "intune-duplicates": "default",
    "device-compliance": "device-compliance",
    "device-compliance-duplicates": "device-compliance",
    "legacy-leftovers": "device-compliance",
    "platform-sso": "platform-sso",
}


def _is_token(route: str) -> bool:
    return route in TOKEN_ROUTES or "/oauth2/v2.0/token" in route or "openid-configuration" in route


def _requests(stats: dict) -> int:
    """HTTP requests the product sent: the emulator also counts each item inside a $batch by its route."""
    return sum(n for route, n in stats["by_route"].items() if "/_lab/" not in route) - stats.get("batch_items", 0)


def lower_bound(records: dict[str, int]) -> int:
    """Tokens (3), then per service max(records, 1) lookups and one delete per record (see the docstring)."""
    return 3 + sum(max(n, 1) + n for n in records.values())


def _repair_if_asked(mac: Path, stop: Paused) -> None:
    """The user's Platform SSO Repair that step 12 pauses for, done the lab's way (as `cleanup lab demo` does)."""
    from cleanup.lab.simmac.psso_repair import repair

    pause = stop.pause if isinstance(stop.pause, Pause) else None
    for wanted in pause.waiting_for if pause else ():
        if wanted.startswith("psso-repair:"):
            repair(mac, wanted.split(":", 1)[1])


def one_reset(work: Path, scenario: str, latency_ms: float) -> dict:
    mac = work / "mac"
    info = create_sim_mac(mac, users=["alice"], scenario=SCENARIOS[scenario])
    ids = [info["device_ids"]["alice"]]
    server = start_tenant(
        work / "tenant",
        scenario=scenario,
        faults=Faults(latency_ms=latency_ms),
        mac=MacIdentity(serial=info["serial"], name=info["computer_name"], device_ids=ids, user_upn="alice@example.com"),
    )
    try:
        client = work / "client"
        client.mkdir()
        server.write_client_files(client)
        link(str(mac), server.url, str(server.ca_pem))
        opener = lab_cloud_opener(client)
        records = {k: len(v) for k, v in _of_mac(server.tenant, info["serial"], ids).items()}
        server.reset_stats()
        pb = load_playbook("cause6")
        marks: dict = {}

        class Marker(Reporter):
            def step_started(self, step) -> None:  # the reset proper ends where re-enrollment begins
                if step.id == "re-enroll" and "reset" not in marks:
                    marks["reset"] = (server.stats(), time.perf_counter())

        store = StateStore(work / "state")
        runner = Runner(store, open_host(f"sim:{mac}"), pb, RunOptions(yes=True, wait_seconds=0, autoresume=False), Marker(), cloud_opener=opener)
        t0 = time.perf_counter()
        run_id = None
        while True:
            try:
                run = runner.start(Selection()) if run_id is None else runner.resume(run_id)
                break
            except Paused as stop:
                run_id = run_id or store.latest()
                _repair_if_asked(mac, stop)
        end = time.perf_counter()
        outcome = run.step("verify-registration").outcome
        if run.status != "done" or not outcome.startswith("verified"):
            raise SystemExit(f"{scenario}: the reset ended {run.status}, verification {outcome!r}")
        reset_stats, t_mark = marks["reset"]
        final = server.stats()
        reset_wall, verify_wall = t_mark - t0, end - t_mark
        verify_stats = {
            "by_route": {r: n - reset_stats["by_route"].get(r, 0) for r, n in final["by_route"].items()},
            "batch_items": final.get("batch_items", 0) - reset_stats.get("batch_items", 0),
        }
        tokens = sum(n for r, n in reset_stats["by_route"].items() if _is_token(r))
        bound = lower_bound(records)
        return {
            "records": records,
            "reset_requests": _requests(reset_stats),
            "reset_tokens": tokens,
            "bound": bound,
            "reset_wall": reset_wall,
            "verify_requests": _requests(verify_stats),
            "verify_wall": verify_wall,
            "routes": reset_stats["by_route"],
            "run_status": run.status,
            "outcome": outcome,
        }
    finally:
        server.stop()


def cloud_only(work: Path, scenario: str, latency_ms: float) -> tuple[int, float]:
    """Steps 0-11 of the cloud side alone (`--only cloud --serial SN`, no Mac): requests and wall time."""
    from cleanup.lab.simmac.builder import COMPUTER_NAME, SERIAL

    server = start_tenant(work / "tenant", scenario=scenario, faults=Faults(latency_ms=latency_ms), mac=MacIdentity(serial=SERIAL, name=COMPUTER_NAME))
    try:
        client = work / "client"
        server.write_client_files(client)
        opener = lab_cloud_opener(client)
        server.reset_stats()
        runner = Runner(
            StateStore(work / "state"), open_host("none"), load_playbook("cause6"), RunOptions(yes=True, serial=SERIAL), Reporter(), cloud_opener=opener
        )
        t0 = time.perf_counter()
        run = runner.start(Selection(only="cloud", stop="delete-intune-records"))
        wall = time.perf_counter() - t0
        assert run.status == "done"
        return _requests(server.stats()), wall
    finally:
        server.stop()


def _of_mac(tenant, serial: str, device_ids: list[str]) -> dict:
    with tenant.lock:
        intune = [d for d in tenant.intune.values() if d.serial == serial]
        dids = {d.aad_device_id.casefold() for d in intune} | {i.casefold() for i in device_ids}
        return {
            "jamf": [c for c in tenant.jamf.values() if c.serial == serial],
            "intune": intune,
            "entra": [d for d in tenant.entra.values() if d.device_id.casefold() in dids],
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--routes", action="store_true", help="print the requests by route")
    ap.add_argument("--scenario", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS), help="tenant scenarios (default: all)")
    args = ap.parse_args()
    print(f"emulator latency {args.latency_ms:g} ms per request; median of {args.repeat}")
    print(
        "| scenario | records (Jamf/Entra/Intune) | requests, reset | lower bound | ratio | wall, full reset (with device steps) "
        "| wall, cloud steps alone | verification |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for scenario in args.scenario:
        results, alone = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-cloud-") as tmp:
                results.append(one_reset(Path(tmp), scenario, args.latency_ms))
            with tempfile.TemporaryDirectory(prefix="bench-cloud-") as tmp:
                alone.append(cloud_only(Path(tmp), scenario, args.latency_ms))
        r = results[0]
        reqs = statistics.median(x["reset_requests"] for x in results)
        wall = statistics.median(x["reset_wall"] for x in results)
        vreq = statistics.median(x["verify_requests"] for x in results)
        vwall = statistics.median(x["verify_wall"] for x in results)
        rec = r["records"]
        print(
            f"| {scenario} | {rec['jamf']}/{rec['entra']}/{rec['intune']} | {reqs:g} | {r['bound']} | {reqs / r['bound']:.2f}× "
            f"| {wall:.2f} s | {statistics.median(w for _, w in alone):.2f} s ({statistics.median(n for n, _ in alone):g} requests) "
            f"| {vreq:g} requests, {vwall:.2f} s |"
        )
        if args.routes:
            for route, n in sorted(r["routes"].items()):
                print(f"    {n:3d}  {route}")
            print("    (items inside a $batch are listed by their own route and counted once, in POST /v1.0/$batch)")


if __name__ == "__main__":
    main()
