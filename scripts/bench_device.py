#!/usr/bin/env python3
"""Benchmark: wall time and peak memory of a dry-run and of a full device-side run on a simulated Mac.

    python scripts/bench_device.py [--users 1,10,100] [--repeat 3]

Each measurement runs the real command line (`python -m cleanup ...`) in a child process; peak memory is the
maximum resident set size of the cleanup process itself (os.wait4). The full run goes through the restart
pause (`run`, then `resume` until done) with the wait shortened to 0 s. Prints a Markdown table.
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
KEEP_ENV = "--keep-env" in sys.argv
sys.path.insert(0, str(REPO))

import cleanup.actions  # noqa: E402, F401 - registers the actions with the engine, as the CLI does
from cleanup.lab.simmac.builder import create_sim_mac  # noqa: E402


def timed(args: list[str], state_dir: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, exit status) of one `cleanup` invocation."""
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir))
    if not KEEP_ENV:
        # As after a normal `pip install` (which byte-compiles): let Python cache bytecode for cleanup and the
        # lab tools even where the environment turns that off; every fake tool call is a new Python process.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cleanup", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        assert proc.stderr is not None  # stderr=PIPE
        raise SystemExit(f"cleanup {' '.join(args)} failed with {code}: {proc.stderr.read().decode()[-500:]}")
    return took, usage.ru_maxrss, code


def own_cpu_of_dry_run(mac: Path) -> float:
    """CPU seconds spent in cleanup itself (not in the simulated macOS tools) for one dry-run, in-process."""
    from cleanup.engine.context import RunOptions
    from cleanup.engine.loader import load_playbook
    from cleanup.engine.runner import Runner, Selection
    from cleanup.hosts import open_host

    t0 = time.process_time()
    Runner(None, open_host(f"sim:{mac}"), load_playbook("cause6"), RunOptions(dry_run=True)).plan(Selection())
    return time.process_time() - t0


def one(users: int, work: Path) -> dict:
    mac, state = work / "mac", work / "state"
    names = [f"user{i:03d}" for i in range(1, users + 1)]
    create_sim_mac(mac, users=names, logged_out=[])
    dry, dry_rss, _ = timed(["plan", "--host", f"sim:{mac}", "--json"], state)
    own = own_cpu_of_dry_run(mac)
    total, peak = 0.0, 0
    took, rss, code = timed(["run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0"], state)
    total, peak = total + took, max(peak, rss)
    while code == 3:
        took, rss, code = timed(["resume", "--latest"], state)
        total, peak = total + took, max(peak, rss)
    return {"dry": dry, "dry_rss": dry_rss, "own": own, "run": total, "run_rss": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="1,10,100")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep-env", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if the environment sets it")
    args = ap.parse_args()
    rows = []
    for n in [int(x) for x in args.users.split(",")]:
        samples = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-device-") as tmp:
                samples.append(one(n, Path(tmp)))
        med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
        rows.append((n, med))
        print(f"users={n}: dry-run {med['dry']:.2f} s, run {med['run']:.2f} s", file=sys.stderr)
    print("| users | dry-run wall | of which cleanup's own CPU | dry-run peak RSS | full device run wall | full run peak RSS |")
    print("|------:|-------------:|---------------------------:|-----------------:|---------------------:|------------------:|")
    for n, m in rows:
        print(f"| {n} | {m['dry']:.2f} s | {m['own']:.2f} s | {m['dry_rss'] / 1024:.0f} MiB | {m['run']:.2f} s | {m['run_rss'] / 1024:.0f} MiB |")
    cache = "as the environment says" if KEEP_ENV else "on"
    print(f"\nmedian of {args.repeat}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; bytecode caching {cache}")


if __name__ == "__main__":
    main()
