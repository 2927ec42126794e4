#!/usr/bin/env python3
"""Benchmark: the device-side artifact and the extension attribute on a simulated Mac.

    python scripts/bench_agent.py [--users 1,6] [--repeat 5]

Builds the artifact (scripts/build_zipapp.py's code), then times, each in a child process: `--version` from the full
install and from the artifact run by an interpreter with none of cleanup's dependencies (a venv made without pip,
as a Mac's own Python), and `diagnose --format jamf-ea` as root on a simulated Mac with N logged-in users, from
both. Prints a Markdown table (best and median of --repeat) and the artifact's size and build time. The issue's
bound for the extension attribute is 2 s on the simulated Mac.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cleanup import zipapp  # noqa: E402
from cleanup.lab.simmac.builder import create_sim_mac  # noqa: E402

EA_VALUE = "<result>"


def timed(argv: list[str], cwd: Path, expect: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEANUP_", "PYTHON"))}
    t0 = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    took = time.perf_counter() - t0
    if res.returncode != 0 or expect not in res.stdout:
        raise SystemExit(f"{' '.join(argv)} failed ({res.returncode}): {res.stdout[-300:]} {res.stderr[-500:]}")
    return took


def stats(samples: list[float]) -> str:
    return f"{min(samples):.2f} s | {statistics.median(samples):.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="1,6")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        art = zipapp.build(work / "cleanup.pyz")
        build_s = time.perf_counter() - t0
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "bare")], check=True, capture_output=True, timeout=120)
        bare = str(work / "bare/bin/python3")
        full = [sys.executable, "-m", "cleanup"]
        pyz = [bare, "-I", str(art.path)]
        rows = [
            ("`--version`, full install", [timed([*full, "--version"], REPO, art.version) for _ in range(args.repeat)]),
            ("`--version`, artifact", [timed([*pyz, "--version"], work, art.version) for _ in range(args.repeat)]),
        ]
        for n in [int(x) for x in args.users.split(",")]:
            mac = work / f"mac{n}"
            create_sim_mac(mac, users=[f"user{i:02d}" for i in range(1, n + 1)], logged_out=[])
            ea = ["diagnose", "--format", "jamf-ea", "--host", f"sim:{mac}"]
            rows.append((f"extension attribute, {n} user(s), full install", [timed([*full, *ea], REPO, EA_VALUE) for _ in range(args.repeat)]))
            rows.append((f"extension attribute, {n} user(s), artifact", [timed([*pyz, *ea], work, EA_VALUE) for _ in range(args.repeat)]))
    print("| what | best | median |")
    print("|------|-----:|-------:|")
    for what, samples in rows:
        print(f"| {what} | {stats(samples)} |")
    print(f"\nartifact {art.size / 1e6:.1f} MB, built in {build_s:.2f} s; {args.repeat} runs each; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
