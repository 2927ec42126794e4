"""Crash matrix: SIGKILL at every step boundary and inside each destructive device step, then resume.

The crash is injected from outside the product (tests/support/crashkit/sitecustomize.py, loaded through PYTHONPATH).
The final simulated Mac must equal that of an uninterrupted run, and the audit log must show each
destructive change applied exactly once.
"""

import hashlib
import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cleanup.engine.audit import AuditLog
from cleanup.engine.store import StateStore
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support import crashkit
from tests.support.lab import lab_state, run_cli

pytestmark = pytest.mark.slow

CRASHKIT = crashkit.PATH
VOLATILE = {".lab/state.json"}


def _drive(mac: Path, state_dir: Path, crash: str | None):
    env = {"PYTHONPATH": f"{CRASHKIT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "CRASHKIT": crash} if crash else {}
    store = StateStore(state_dir)
    codes = []
    for _ in range(12):
        if store.run_ids():
            res = run_cli("resume", "--latest", state_dir=state_dir, env=env)
        else:
            res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", state_dir=state_dir, env=env)
        codes.append(res.returncode)
        if res.returncode == 0:
            return store, codes
        assert res.returncode in (3, -9), (codes, res.stderr[-2000:])
    raise AssertionError(f"never finished: {codes}")


def _final(mac: Path):
    tree = {}
    for k, v in tree_manifest(mac).items():
        if k in VOLATILE or k.startswith(".lab/calls"):
            continue
        if v[0] == "file" and str(mac).encode() in (mac / k).read_bytes():  # the fake tools name their own folder
            v = (v[0], v[1], hashlib.sha256((mac / k).read_bytes().replace(str(mac).encode(), b"<ROOT>")).hexdigest())
        tree[k] = v
    sim = lab_state(mac)
    sim.pop("boottime")
    return tree, sim


def _applied(store: StateStore) -> Counter:
    (run_id,) = store.run_ids()
    records = AuditLog(store.run_dir(run_id) / "audit.jsonl").records()
    return Counter(r["key"] for r in records if r.get("event") == "result" and r.get("changed"))


def _scenario(tmp: Path, name: str, crash: str | None):
    mac, state_dir = tmp / name / "mac", tmp / name / "state"
    create_sim_mac(mac, users=["alice"])
    counter = tmp / name / "counter.json"
    store, codes = _drive(mac, state_dir, crash.replace("@", str(counter)) if crash else None)
    fired = json.loads(counter.read_text()) if counter.exists() else None
    return _final(mac), _applied(store), codes, fired


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("baseline")
    final, applied, codes, counts = _scenario(tmp, "base", "count:0:@")
    assert codes[-1] == 0 and all(c in (0, 3) for c in codes)
    assert set(applied.values()) == {1}
    return final, applied, counts


def _cases(counts):
    cases = [f"save-after:{n}:@" for n in range(1, counts["saves"] + 1)]
    cases += [f"save-before:{n}:@" for n in range(2, counts["saves"] + 1, 4)]
    log = counts["log"]
    # first and last destructive operation of every run of the same kind (each destructive step), both sides
    picks = set()
    for i, what in enumerate(log):
        kind = what.split()[0]
        prev = log[i - 1].split()[0] if i else None
        nxt = log[i + 1].split()[0] if i + 1 < len(log) else None
        if kind != prev or kind != nxt:
            picks.add(i + 1)
    for n in sorted(picks):
        cases += [f"change-before:{n}:@", f"change-after:{n}:@"]
    return cases


def test_crash_anywhere_then_resume_equals_an_uninterrupted_run(baseline, tmp_path):
    base_final, base_applied, counts = baseline
    assert counts["saves"] >= 20 and counts["changes"] >= 20
    kinds = {w.split()[0] for w in counts["log"]}
    assert {"removeMdmProfile", "removeFramework", "os.remove", "delete-generic-password", "delete-identity", "/sbin/shutdown", "--forget"} <= kinds
    cases = _cases(counts)

    def one(i_case):
        i, case = i_case
        final, applied, codes, fired = _scenario(tmp_path, f"c{i}", case)
        return case, final, applied, codes, fired

    failures = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for case, final, applied, codes, fired in pool.map(one, enumerate(cases)):
            if not fired or not fired["fired"]:
                failures.append(f"{case}: the crash never fired")
                continue
            if -9 not in codes:
                failures.append(f"{case}: no process was killed ({codes})")
            if final != base_final:
                tree, sim = final
                diff = sorted(set(tree.items()) ^ set(base_final[0].items()))[:5]
                failures.append(f"{case}: final Mac differs: {diff or (sim, base_final[1])}")
            twice = {k: n for k, n in applied.items() if n != 1}
            if twice or set(applied) != set(base_applied):
                failures.append(
                    f"{case}: applied counts differ: twice={twice} missing={set(base_applied) - set(applied)} extra={set(applied) - set(base_applied)}"
                )
    assert not failures, "\n".join(failures)
    assert len(cases) >= 40, len(cases)
