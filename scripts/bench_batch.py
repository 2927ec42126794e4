"""Throughput of `cleanup batch run` against the emulated tenant, versus a naive admin script and versus the
floor that Intune's write limit imposes.

In one run:
  (a) `cleanup batch run --playbook duplicates --serials-file` over N flagged Macs (each with 2 stale
      registrations: 2 Intune records + 2 Entra devices to delete), the emulator answering after 30 ms, and
      Intune's write limit (200 writes / 20 s per app) scaled down with time: 200 writes / 2 s;
  (b) the naive baseline, written here the way typical admin scripts do it: for each serial of the same list,
      one after another: look up its Intune records and its Jamf record, delete the stale ones and their Entra
      devices, next; on a 429 sleep a fixed 60 s (scaled the same way: 6 s);
then prints Macs per second, the ratio, requests per Mac against the lower bound, the distance to the floor,
and the batch's peak memory at each N. Finally a full cause6 batch of simulated Macs with the 30-minute wait
shortened, showing the batch takes about one wait plus the work.

The emulator runs in its own process, so it does not share the batch's interpreter.

    python scripts/bench_batch.py [--macs 1000 10000] [--cause6-macs 50] [--skip-baseline-above 1000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
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


def flagged(n: int) -> list[str]:
    return [f"DUP{i:08d}" for i in range(1, n + 1)]  # the serials cleanup.lab.tenant.fleet gives


def _serve(workdir: str, n: int, ready, stop) -> None:
    from cleanup.lab.tenant import Faults, Tenant, TenantServer
    from cleanup.lab.tenant.fleet import add_duplicated_macs

    tenant = Tenant()
    add_duplicated_macs(tenant, n, stale=STALE)
    server = TenantServer(Path(workdir), tenant=tenant, faults=Faults(latency_ms=LATENCY_MS, intune_write_limit=WRITE_LIMIT, intune_window=WINDOW)).start()
    server.write_client_files(Path(workdir) / "client")
    ready.set()
    stop.wait()
    server.stop()


class Emulator:
    def __init__(self, n: int):
        self.n = n
        self.dir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
        ctx = mp.get_context("spawn")
        self.ready, self.stop_ev = ctx.Event(), ctx.Event()
        self.proc = ctx.Process(target=_serve, args=(str(self.dir), n, self.ready, self.stop_ev), daemon=True)
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


def run_batch(emu: Emulator, state: Path, concurrency: int) -> tuple[float, int, float]:
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state), **emu.env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    serials = state.parent / "serials.txt"
    serials.write_text("\n".join(flagged(emu.n)) + "\n")
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
    return wall, summary(out_path.read_text())["counts"].get("done", 0), usage.ru_maxrss / 1024


def summary(stdout: str) -> dict:
    """The last line of `batch run --json` (JSON Lines, docs/json-batch.md): counts and report paths."""
    return json.loads(stdout.rstrip().rsplit("\n", 1)[-1])["data"]


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


def cause6_batch(n: int, wait: float) -> None:
    from cleanup.lab.simmac.builder import create_sim_mac
    from cleanup.lab.simmac.tenant_link import link
    from cleanup.lab.tenant import start_tenant
    from cleanup.lab.tenant.scenarios import _mac_everywhere

    work = Path(tempfile.mkdtemp(prefix="bench-cause6-"))
    server = start_tenant(work / "tenant", scenario="empty")
    try:
        server.write_client_files(work / "client")
        now = time.time()
        serials = []
        for i in range(1, n + 1):
            serial, name = f"C02FLEET{i:04d}", f"MBP-FLEET-{i}"
            info = create_sim_mac(work / "fleet" / serial, users=["alice"], serial=serial, computer_name=name)
            link(str(work / "fleet" / serial), server.url, str(server.ca_pem))
            _mac_everywhere(server.tenant, serial, name, "alice@example.com", info["device_ids"]["alice"], now)
            serials.append(serial)
        (work / "serials.txt").write_text("\n".join(serials))
        env = dict(os.environ, CLEANUP_STATE_DIR=str(work / "state"), CLEANUP_CONFIG=str(work / "client" / "config.toml"))
        for line in (work / "client" / "secrets.env").read_text().splitlines():
            k, v = line.split("=", 1)
            env[k] = v
        env.pop("PYTHONDONTWRITEBYTECODE", None)
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
            raise SystemExit(f"cause6 batch failed: {res.stderr[-2000:]}")
        counts = summary(res.stdout)["counts"]
        print(f"| cause6, {n} simulated Macs, wait {wait:g} s | {wall:.1f} s total | {counts} | one wait + {wall - wait:.1f} s of work |")
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
    args = ap.parse_args()
    print(f"emulator: {LATENCY_MS} ms per request; Intune write limit {WRITE_LIMIT} per {WINDOW:g} s; {STALE} stale registrations per Mac")
    print("| Macs | batch wall | batch Macs/s | requests/Mac (bound) | floor (write limit) | vs floor | peak RSS | baseline Macs/s | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.macs:
        emu = Emulator(n)
        try:
            wall, done, rss = run_batch(emu, emu.dir / "state", args.concurrency)
            reqs = emu.requests()
        finally:
            emu.close()
        floor = n * STALE / WRITE_LIMIT * WINDOW
        # per Mac, run one at a time (each Mac its own checkpointed run): one delete request per service (the
        # stale Intune records in one $batch, their Entra devices in another) plus its share of the plan's bulk
        # lookups (a Jamf =in= query, an Intune $batch and an Entra $batch per 20 Macs)
        bound = 2 + 3 / 20
        base = ""
        ratio = ""
        if n <= args.skip_baseline_above:
            emu = Emulator(n)
            try:
                emu.lab("/_lab/stats/reset", "POST")
                bwall, bdone, _ = naive_baseline(emu, args.baseline_macs)
            finally:
                emu.close()
            base_rate = bdone / bwall
            base, ratio = f"{base_rate:.2f}", f"{(done / wall) / base_rate:.1f}×"
        print(
            f"| {n} | {wall:.1f} s | {done / wall:.1f} | {reqs / n:.2f} ({bound:.2f}) | {floor:.1f} s | {wall / floor:.2f}× "
            f"| {rss:.0f} MiB | {base} | {ratio} |"
        )
    if args.cause6_macs:
        cause6_batch(args.cause6_macs, args.cause6_wait)


if __name__ == "__main__":
    main()
