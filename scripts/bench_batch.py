"""Throughput of `cleanup batch run` against the emulated tenant, versus a naive admin script and versus the
floor that Intune's write limit imposes.

In one run (``--model legacy``, the default):
  (a) `cleanup batch run --playbook duplicates --serials-file` over N flagged Macs (each with 2 stale
      registrations: 2 Intune records + 2 Entra devices to delete), the emulator answering after 30 ms, and
      Intune's write limit (200 writes / 20 s per app) scaled down with time: 200 writes / 2 s;
  (b) the naive baseline, written here the way typical admin scripts do it: for each serial of the same list,
      one after another: look up its Intune records and its Jamf record, delete the stale ones and their Entra
      devices, next; on a 429 sleep a fixed 60 s (scaled the same way: 6 s);
then prints Macs per second, the ratio, requests per Mac against the lower bound, the distance to the floor,
and the batch's peak memory at each N. Finally a full cause6 batch of simulated Macs with the 30-minute wait
shortened, showing the batch takes about one wait plus the work, and checking that every Mac ended verified.

``--model device-compliance``: the same with a fleet of Jamf Device Compliance Macs. Each has a Jamf record whose
local user reports its Entra deviceId, one Entra Workplace device, Jamf Pro's device-compliance information naming
it, and no Intune record; the tenant's registration model is Device Compliance and its directory has the
compliance partner enabled for macOS (the legacy partner absent), as the ``device-compliance`` scenario. The
cause6 batch's Macs are ``device-compliance`` simulated Macs, re-registered the Device Compliance way.

The floor differs for Device Compliance. Legacy: every stale registration is an Intune delete, so Intune's write
limit sets the floor (N x 2 writes at 100 writes/s). A Device Compliance Mac has no Intune record: nothing a batch
deletes for it is an Intune write, so that limit sets no floor (0 s; "vs floor" is not defined). Its current
registration is its only Entra device, which the duplicates playbook keeps, so (a) deletes nothing and the figure
is the cost of confirming the fleet: requests per Mac against the plan's bulk reads (3 per 20 Macs). Its stale
devices, when it has some, are tied to it by name only, and a batch never deletes by name. The naive baseline
anchors on Intune's records, as the public scripts do, so it sees no Device Compliance Mac: it is not run. A
cause6 reset of a Device Compliance Mac deletes its Jamf record and its Entra device (step 11 has nothing), so
for either model the floor of the cause6 batch is one wait: the Intune limit does not bind 50 Macs (legacy:
one Intune delete each), and the Macs in their wait hold no worker.

The emulator runs in its own process, so it does not share the batch's interpreter.

    python scripts/bench_batch.py [--macs 1000 10000] [--cause6-macs 50] [--skip-baseline-above 1000] [--model device-compliance]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LATENCY_MS = 30
WRITE_LIMIT, WINDOW = 200, 2.0  # Intune: 200 writes per 20 s, time scaled by 10 like the 429 sleep below
NAIVE_429_SLEEP = 6.0  # the public scripts' fixed 60 s, scaled the same way
STALE = 2
MODELS = ("legacy", "device-compliance")
PREFIX = {"legacy": "DUP", "device-compliance": "DCM"}


def flagged(n: int, model: str = "legacy") -> list[str]:
    return [f"{PREFIX[model]}{i:08d}" for i in range(1, n + 1)]  # the serials the fleet builders give


def add_dc_macs(tenant, count: int, names: str = "MAC-DCM", upns: str = "user{i}@contoso.example") -> list[str]:
    """``count`` Device Compliance Macs, each registered once (as the device-compliance scenario's Mac), in a tenant
    whose model is Device Compliance with its partner enabled for macOS. Returns the serials."""
    from cleanup.lab.tenant import directory
    from cleanup.lab.tenant.model import new_guid
    from cleanup.lab.tenant.scenarios import _dc_mac

    now = time.time()
    tenant.set_registration_model("device-compliance")
    serials = flagged(count, "device-compliance")
    with tenant.lock:
        for i, serial in enumerate(serials, 1):
            _dc_mac(tenant, serial, f"{names}-{i}", upns.format(i=i), new_guid(), now)
        directory.seed_healthy(tenant.directory, [upns.format(i=i) for i in range(1, count + 1)])
        directory.seed_device_compliance(tenant.directory)
    return serials


def _serve(workdir: str, n: int, model: str, ready, stop) -> None:
    from cleanup.lab.tenant import Faults, Tenant, TenantServer
    from cleanup.lab.tenant.fleet import add_duplicated_macs

    tenant = Tenant()
    if model == "legacy":
        add_duplicated_macs(tenant, n, stale=STALE)
    else:
        add_dc_macs(tenant, n)
    server = TenantServer(Path(workdir), tenant=tenant, faults=Faults(latency_ms=LATENCY_MS, intune_write_limit=WRITE_LIMIT, intune_window=WINDOW)).start()
    server.write_client_files(Path(workdir) / "client")
    ready.set()
    stop.wait()
    server.stop()


class Emulator:
    def __init__(self, n: int, model: str = "legacy"):
        self.n, self.model = n, model
        self.dir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
        ctx = mp.get_context("spawn")
        self.ready, self.stop_ev = ctx.Event(), ctx.Event()
        self.proc = ctx.Process(target=_serve, args=(str(self.dir), n, model, self.ready, self.stop_ev), daemon=True)
        self.proc.start()
        if not self.ready.wait(600):
            raise SystemExit("the emulator did not start")
        info = json.loads((self.dir / "client" / "tenant.json").read_text())
        self.url, self.ca = info["url"], info["ca_pem"]
        self.env = {"CLEANUP_CONFIG": str(self.dir / "client" / "config.toml")}
        for line in (self.dir / "client" / "secrets.env").read_text().splitlines():
            k, v = line.split("=", 1)
            self.env[k] = v

    def lab(self, path: str, method: str = "GET") -> dict:
        req = urllib.request.Request(self.url + path, method=method, data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=self.ca), timeout=60) as r:
            return json.loads(r.read() or b"{}")

    def requests(self) -> int:
        s = self.lab("/_lab/stats")
        return s["total"]

    def close(self) -> None:
        self.stop_ev.set()
        self.proc.join(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_batch(emu: Emulator, state: Path, concurrency: int) -> tuple[float, dict, float, int]:
    """(wall, counts by Mac state, peak RSS in MiB, objects deleted) of one `batch run` over the fleet."""
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state), **emu.env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    serials = state.parent / "serials.txt"
    serials.write_text("\n".join(flagged(emu.n, emu.model)) + "\n")
    args = [
        sys.executable,
        "-m",
        "cleanup",
        "batch",
        "run",
        "--playbook",
        "duplicates",
        "--serials-file",
        str(serials),
        "--yes",
        "--max-deletions",
        "100000",
        "--concurrency",
        str(concurrency),
        "--intune-write-limit",
        str(WRITE_LIMIT),
        "--intune-window",
        str(WINDOW),
        "--json",
    ]
    out_path, err_path = state.parent / "batch.out", state.parent / "batch.err"
    t0 = time.perf_counter()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak RSS, not the emulator's or another run's
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {err_path.read_text()[-2000:]}")
    text = out_path.read_text()
    return wall, summary(text)["counts"], usage.ru_maxrss / 1024, sum(len(m["deleted"]) for m in mac_lines(text))


def summary(stdout: str) -> dict:
    """The last line of `batch run --json` (JSON Lines, docs/json-batch.md): counts and report paths."""
    return json.loads(stdout.rstrip().rsplit("\n", 1)[-1])["data"]


def mac_lines(stdout: str) -> list[dict]:
    """The `mac` lines of `batch run --json`: each Mac as the ledger holds it at the end."""
    lines = (json.loads(line)["data"] for line in stdout.splitlines() if line.strip())
    return [d["mac"] for d in lines if d.get("event") == "mac"]


def naive_baseline(emu: Emulator, limit_macs: int) -> tuple[float, int, int]:
    """One Mac after another, as admin scripts do it; returns (wall, Macs done, requests)."""
    import requests

    cfg = {}
    import tomllib

    cfg = tomllib.loads(Path(emu.env["CLEANUP_CONFIG"]).read_text())
    s = requests.Session()
    s.verify = emu.ca
    tok = s.post(
        f"{emu.url}/{cfg['graph']['tenant_id']}/oauth2/v2.0/token",
        verify=emu.ca,
        data={
            "client_id": cfg["graph"]["client_id"],
            "client_secret": emu.env["CLEANUP_GRAPH_CLIENT_SECRET"],
            "grant_type": "client_credentials",
            "scope": f"{emu.url}/.default",
        },
    ).json()["access_token"]
    jt = s.post(
        f"{emu.url}/api/oauth/token",
        verify=emu.ca,
        data={"client_id": cfg["jamf"]["client_id"], "client_secret": emu.env["CLEANUP_JAMF_CLIENT_SECRET"], "grant_type": "client_credentials"},
    ).json()["access_token"]
    g = {"Authorization": f"Bearer {tok}"}
    j = {"Authorization": f"Bearer {jt}", "Accept": "application/json"}

    def call(method, url, headers):
        while True:
            r = s.request(method, url, headers=headers, verify=emu.ca)
            if r.status_code == 429:
                time.sleep(NAIVE_429_SLEEP)
                continue
            return r

    t0 = time.perf_counter()
    done = 0
    for serial in flagged(emu.n)[:limit_macs]:  # the same list of flagged serials the batch gets
        recs = call("GET", f"{emu.url}/v1.0/deviceManagement/managedDevices?$filter=serialNumber eq '{serial}'", g).json()["value"]
        inv = call("GET", f"{emu.url}/api/v1/computers-inventory?section=LOCAL_USER_ACCOUNTS&filter=hardware.serialNumber=={serial}", j).json()
        current = {u.get("computerAzureActiveDirectoryId") for r in inv["results"] for u in r.get("localUserAccounts") or []}
        for d in recs:
            if d["azureADDeviceId"] in current:
                continue
            call("DELETE", f"{emu.url}/v1.0/deviceManagement/managedDevices/{d['id']}", g)
            found = call("GET", f"{emu.url}/v1.0/devices?$filter=deviceId eq '{d['azureADDeviceId']}'", g).json()["value"]
            for e in found:
                call("DELETE", f"{emu.url}/v1.0/devices/{e['id']}", g)
        done += 1
    return time.perf_counter() - t0, done, emu.requests()


def _seed_cause6_fleet(work: Path, server, n: int, model: str) -> list[str]:
    """``n`` simulated Macs, each registered once the model's way and linked to the emulator."""
    from cleanup.lab.simmac.builder import create_sim_mac
    from cleanup.lab.simmac.tenant_link import link
    from cleanup.lab.tenant import directory
    from cleanup.lab.tenant.scenarios import _dc_mac, _mac_everywhere

    tenant = server.tenant
    if model == "device-compliance":  # the tenant registers the Macs again the Device Compliance way (/_lab/register)
        tenant.set_registration_model("device-compliance")
        directory.seed_device_compliance(tenant.directory)
    now = time.time()
    serials = []
    for i in range(1, n + 1):
        serial, name = f"C02FLEET{i:04d}", f"MBP-FLEET-{i}"
        scenario = "device-compliance" if model == "device-compliance" else "default"
        info = create_sim_mac(work / "fleet" / serial, users=["alice"], serial=serial, computer_name=name, scenario=scenario)
        link(str(work / "fleet" / serial), server.url, str(server.ca_pem))
        seed = _dc_mac if model == "device-compliance" else _mac_everywhere
        seed(tenant, serial, name, "alice@example.com", info["device_ids"]["alice"], now)
        serials.append(serial)
    return serials


def _not_verified(state: Path, macs: list[dict]) -> list[str]:
    """The Macs whose run did not end with its registration verified: serial and why."""
    from cleanup.engine.store import StateStore

    store, bad = StateStore(state), []
    for mac in macs:
        if not mac.get("run_id"):
            bad.append(f"{mac['serial']}: no run ({mac.get('state')}: {mac.get('outcome')})")
            continue
        run, _ = store.load(mac["run_id"])
        outcome = run.step("verify-registration").outcome or ""
        if run.status != "done" or not outcome.startswith("verified"):
            bad.append(f"{mac['serial']}: run {run.run_id} {run.status}, verification {outcome!r}")
    return bad


def cause6_batch(n: int, wait: float, model: str = "legacy") -> None:
    from cleanup.lab.tenant import start_tenant

    work = Path(tempfile.mkdtemp(prefix="bench-cause6-"))
    server = start_tenant(work / "tenant", scenario="empty")
    try:
        server.write_client_files(work / "client")
        serials = _seed_cause6_fleet(work, server, n, model)
        (work / "serials.txt").write_text("\n".join(serials))
        env = dict(os.environ, CLEANUP_STATE_DIR=str(work / "state"), CLEANUP_CONFIG=str(work / "client" / "config.toml"))
        for line in (work / "client" / "secrets.env").read_text().splitlines():
            k, v = line.split("=", 1)
            env[k] = v
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        server.reset_stats()
        t0 = time.perf_counter()
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "cleanup",
                "batch",
                "run",
                "--playbook",
                "cause6",
                "--serials-file",
                str(work / "serials.txt"),
                "--host-template",
                f"sim:{work / 'fleet'}/{{serial}}",
                "--yes",
                "--wait-seconds",
                str(wait),
                "--max-deletions",
                str(10 * n),
                "--json",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            raise SystemExit(f"cause6 batch failed ({res.returncode}): {res.stderr[-2000:]}")
        counts = summary(res.stdout)["counts"]
        macs = mac_lines(res.stdout)
        deleted: dict[str, int] = {}
        for mac in macs:
            for obj in mac["deleted"]:
                deleted[obj["service"]] = deleted.get(obj["service"], 0) + 1
        stats = server.stats()  # items inside a $batch are counted by their own route too: count the request once
        requests = sum(v for r, v in stats["by_route"].items() if "/_lab/" not in r) - stats.get("batch_items", 0)
        bad = _not_verified(work / "state", macs)
        shown = "/".join(str(deleted.get(k, 0)) for k in ("jamf", "entra", "intune"))
        verified = f"{len(macs) - len(bad)} of {len(macs)} verified"
        print(
            f"| cause6 ({model}), {n} simulated Macs, wait {wait:g} s | {wall:.1f} s total | {counts}, {verified} | deleted Jamf/Entra/Intune {shown} "
            f"| {requests / n:.1f} requests/Mac | one wait + {wall - wait:.1f} s of work |"
        )
        if bad:
            raise SystemExit(f"not verified (the fleet and its runs are kept in {work}):\n" + "\n".join(bad[:20]))
        shutil.rmtree(work, ignore_errors=True)
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--macs", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--skip-baseline-above", type=int, default=1000)
    ap.add_argument("--baseline-macs", type=int, default=200, help="the baseline is timed on this many Macs and scaled (it is linear)")
    ap.add_argument("--cause6-macs", type=int, default=50)
    ap.add_argument("--cause6-wait", type=float, default=20)
    ap.add_argument("--model", choices=MODELS, default="legacy", help="the fleet's registration model (see the docstring)")
    args = ap.parse_args()
    legacy = args.model == "legacy"
    stale = f"{STALE} stale registrations per Mac" if legacy else "Device Compliance Macs registered once (no Intune record)"
    print(f"emulator: {LATENCY_MS} ms per request; Intune write limit {WRITE_LIMIT} per {WINDOW:g} s; {stale}")
    print("| Macs | batch wall | batch Macs/s | deleted | requests/Mac (bound) | floor (write limit) | vs floor | peak RSS | baseline Macs/s | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.macs:
        emu = Emulator(n, args.model)
        try:
            wall, counts, rss, deleted = run_batch(emu, emu.dir / "state", args.concurrency)
            reqs = emu.requests()
        finally:
            emu.close()
        done = counts.get("done", 0)
        if done != n:
            raise SystemExit(f"{n - done} of {n} Macs not done: {counts}")
        # Intune writes: each stale registration's Intune record (legacy); none for a Device Compliance Mac
        writes = n * STALE if legacy else 0
        floor = writes / WRITE_LIMIT * WINDOW
        # per Mac, run one at a time (each Mac its own checkpointed run): one delete request per service (the
        # stale Intune records in one $batch, their Entra devices in another) plus its share of the plan's bulk
        # lookups (a Jamf =in= query, an Intune $batch and an Entra $batch per 20 Macs); nothing to delete for a
        # Device Compliance Mac registered once
        bound = (2 if legacy else 0) + 3 / 20
        base = ""
        ratio = "" if legacy else "(no Intune record: a script anchored on Intune sees none)"
        if legacy and n <= args.skip_baseline_above:
            emu = Emulator(n)
            try:
                emu.lab("/_lab/stats/reset", "POST")
                bwall, bdone, _ = naive_baseline(emu, args.baseline_macs)
            finally:
                emu.close()
            base_rate = bdone / bwall
            base, ratio = f"{base_rate:.2f}", f"{(done / wall) / base_rate:.1f}×"
        vs_floor = f"{wall / floor:.2f}×" if floor else "n/a"
        print(
            f"| {n} | {wall:.1f} s | {done / wall:.1f} | {deleted} | {reqs / n:.2f} ({bound:.2f}) | {floor:.1f} s | {vs_floor} "
            f"| {rss:.0f} MiB | {base} | {ratio} |"
        )
    if args.cause6_macs:
        cause6_batch(args.cause6_macs, args.cause6_wait, args.model)


if __name__ == "__main__":
    main()
