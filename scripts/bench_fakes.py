"""What one call of a simulated Mac's fake tool costs, and a full device run, with the plain `python -S` scripts and
through the fake tools' server (cleanup/lab/simmac/fakeserver.py), which the test suite uses.

    python scripts/bench_fakes.py [--calls 200] [--users 2] [--repeat 3]

Prints one table: per-call wall time of three fakes and the wall time of `cleanup run --only device` (through the
restart) on a fresh simulated Mac, each the median of --repeat. Needs a C compiler for the server's launcher.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cleanup.lab.simmac import create_sim_mac, fakeserver

CALLS = {
    "id -u": ["/usr/bin/id", "-u"],
    "launchctl asuser … security list-keychains": ["/bin/launchctl", "asuser", "501", "/usr/bin/security", "list-keychains"],
    "profiles status": ["/usr/bin/profiles", "status", "-type", "enrollment"],
}


def _per_call(mac: Path, argv: list[str], calls: int) -> float:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C"}
    start = time.perf_counter()
    for _ in range(calls):
        subprocess.run([str(mac) + argv[0], *argv[1:]], capture_output=True, env=env, start_new_session=True, check=False)
    return (time.perf_counter() - start) / calls


def _device_run(mac: Path, state: Path) -> float:
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state), CLEANUP_CONFIG=str(state.parent / "none.toml"))
    argv = [sys.executable, "-m", "cleanup", "run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", "--no-autoresume"]
    start = time.perf_counter()
    first = subprocess.run(argv, capture_output=True, env=env, check=False)
    resume = subprocess.run([sys.executable, "-m", "cleanup", "resume", "--latest"], capture_output=True, env=env, check=False)
    took = time.perf_counter() - start
    if (first.returncode, resume.returncode) != (3, 0):
        raise SystemExit(f"the device run did not pause at the restart and finish: {first.returncode}, {resume.returncode}: {resume.stderr[-300:]!r}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--users", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-fakes-"))
    server = fakeserver.start(str(work))
    if server is None:
        raise SystemExit("no C compiler: the fake server cannot be built")
    users = [f"user{i}" for i in range(args.users)]
    rows: dict[str, dict[str, float]] = {}
    try:
        for mode in ("plain", "server"):
            if mode == "server":
                os.environ.update(server.env)
            else:
                os.environ.pop(fakeserver.LAUNCHER_ENV, None)
            mac = work / f"mac-{mode}"
            create_sim_mac(mac, users=users)
            for name, argv in CALLS.items():
                rows.setdefault(name, {})[mode] = statistics.median(_per_call(mac, argv, args.calls) for _ in range(args.repeat)) * 1000
            runs = []
            for i in range(args.repeat):
                run_mac = work / f"run-{mode}-{i}"
                create_sim_mac(run_mac, users=users)
                runs.append(_device_run(run_mac, work / f"state-{mode}-{i}"))
            rows.setdefault(f"device run, {args.users} users (s)", {})[mode] = statistics.median(runs)
    finally:
        os.environ.pop(fakeserver.LAUNCHER_ENV, None)
        server.stop(remove_launcher=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"| call | plain `python -S` | through the server | ratio |  (median of {args.repeat}; ms per call unless marked)")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['plain']:.2f} | {r['server']:.2f} | {r['plain'] / r['server']:.1f}× |")


if __name__ == "__main__":
    main()
