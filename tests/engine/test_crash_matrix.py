"""Crash matrix: a kill at every step boundary and inside each destructive device step, then resume.

Two ways of crashing, both from outside the product (tests/support/crashkit/sitecustomize.py, loaded through
PYTHONPATH):

- a few real SIGKILLs of the running process, each replaying the run up to its point;
- at every other point, the disk a SIGKILL there would leave: an uninterrupted run copies the Mac and the state
  folder at each of those points, and each case resumes from its copy. The real kills check that a copy equals what
  a kill leaves.

The final simulated Mac must equal that of an uninterrupted run, and the audit log must show each destructive
change applied exactly once.
"""

import hashlib
import json
import os
import shutil
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
from tests.support.treecopy import copy_tree

pytestmark = pytest.mark.slow

VOLATILE = {".lab/state.json", ".lab/notifications.jsonl"}  # a resumed restart step asks the user again
LOCK = "Library/Application Support/cleanup/mac.lock"  # names the process holding it
WORKERS = 2


def _env(crash: str | None, snap: str | None = None) -> dict:
    if not crash:
        return {}
    env = {"PYTHONPATH": f"{crashkit.PATH}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "CRASHKIT": crash}
    if snap:
        env["CRASHKIT_SNAP"] = snap
    return env


def _drive(mac: Path, state_dir: Path, env: dict, stop_at_kill: bool = False):
    store = StateStore(state_dir)
    codes = []
    for _ in range(12):
        if store.run_ids():
            res = run_cli("resume", "--latest", state_dir=state_dir, env=env)
        else:
            res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", state_dir=state_dir, env=env)
        codes.append(res.returncode)
        if res.returncode == 0 or (stop_at_kill and res.returncode == -9):
            return store, codes
        assert res.returncode in (3, -9), (codes, res.stderr[-2000:])
    raise AssertionError(f"never finished: {codes}")


def _final(mac: Path, named: Path | None = None):
    """The Mac's tree and simulated state, with the folder its files name (``named``: where it was copied from) as <ROOT>."""
    root = str(named or mac).encode()
    tree = {}
    for k, v in tree_manifest(mac).items():
        if k in VOLATILE or k.startswith(".lab/calls"):
            continue
        if v[0] == "file" and root in (mac / k).read_bytes():  # the fake tools name their own folder
            v = (v[0], v[1], hashlib.sha256((mac / k).read_bytes().replace(root, b"<ROOT>")).hexdigest())
        tree[k] = v
    sim = lab_state(mac)
    sim.pop("boottime")
    return tree, sim


def _applied(store: StateStore) -> Counter:
    (run_id,) = store.run_ids()
    records = AuditLog(store.run_dir(run_id) / "audit.jsonl").records()
    return Counter(r["key"] for r in records if r.get("event") == "result" and r.get("changed"))


def _family(what: str) -> str:
    kind = what.split()[0]
    return "file" if kind in ("os.remove", "os.rmdir") else kind  # one file removal step alternates the two


def _cases(counts) -> list[str]:
    cases = [f"save-after:{n}" for n in range(1, counts["saves"] + 1)]
    cases += [f"save-before:{n}" for n in range(2, counts["saves"] + 1, 4)]
    log = [_family(w) for w in counts["log"]]
    # first and last destructive operation of every run of the same kind (each destructive step), both sides
    picks = {i + 1 for i, kind in enumerate(log) if (i == 0 or log[i - 1] != kind) or (i + 1 == len(log) or log[i + 1] != kind)}
    for n in sorted(picks):
        cases += [f"change-before:{n}", f"change-after:{n}"]
    return cases


def _real_kills(counts) -> list[str]:
    """One real SIGKILL per kind of point: between steps, inside the framework removal, the file removal and the
    keychain purge."""
    log = counts["log"]
    first = {w.split()[0]: i + 1 for i, w in reversed(list(enumerate(log)))}
    return [
        f"save-before:{counts['saves'] // 3}",
        f"save-after:{counts['saves'] // 2}",
        f"change-after:{first['removeFramework']}",
        f"change-before:{first['os.remove'] + 1}",
        f"change-after:{first['delete-identity']}",
    ]


def _baseline(slot: Path):
    """An uninterrupted run that leaves a copy of the disk at every point a kill could hit."""
    mac, state, snaps = slot / "mac", slot / "state", slot / "snaps"
    create_sim_mac(mac, users=["alice"])
    counter = slot / "counter.json"
    store, codes = _drive(mac, state, _env(f"snap:0:{counter}", f"{snaps}|{mac}|{state}"))
    assert codes[-1] == 0 and all(c in (0, 3) for c in codes), codes
    return _final(mac), _applied(store), json.loads(counter.read_text())


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash")
    slots = [tmp / f"slot{k}" for k in range(WORKERS)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(_baseline, slots))
    (final, applied, counts), *others = results
    for other in others:  # the runs are deterministic: every slot saw the same points in the same order
        assert other[2]["log"] == counts["log"] and other[2]["saves"] == counts["saves"]
        assert other[0] == final and other[1] == applied
    assert set(applied.values()) == {1}
    return slots, final, applied, counts


def _check(case, final, applied, base_final, base_applied) -> list[str]:
    failures = []
    if final != base_final:
        tree, sim = final
        diff = sorted(set(tree.items()) ^ set(base_final[0].items()))[:5]
        failures.append(f"{case}: final Mac differs: {diff or (sim, base_final[1])}")
    twice = {k: n for k, n in applied.items() if n != 1}
    if twice or set(applied) != set(base_applied):
        failures.append(f"{case}: applied counts differ: twice={twice} missing={set(base_applied) - set(applied)} extra={set(applied) - set(base_applied)}")
    return failures


def test_resumed_from_every_kill_point_the_mac_equals_an_uninterrupted_run(baselines):
    slots, base_final, base_applied, counts = baselines
    assert counts["saves"] >= 20 and counts["changes"] >= 20
    kinds = {w.split()[0] for w in counts["log"]}
    assert {"removeMdmProfile", "removeFramework", "os.remove", "delete-generic-password", "delete-identity", "/sbin/shutdown", "--forget"} <= kinds
    cases = _cases(counts)
    assert len(cases) >= 40, len(cases)

    def worker(k: int) -> list[str]:
        slot = slots[k]
        mac, state = slot / "mac", slot / "state"
        failures = []
        for case in cases[k::WORKERS]:
            snap = slot / "snaps" / case.replace(":", "-")
            if not snap.is_dir():
                failures.append(f"{case}: no copy was taken at that point")
                continue
            for d in (mac, state):
                shutil.rmtree(d, ignore_errors=True)
                if (snap / d.name).exists():
                    copy_tree(str(snap / d.name), str(d))
            store, _ = _drive(mac, state, {})
            failures += _check(case, _final(mac), _applied(store), base_final, base_applied)
        return failures

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        failures = [f for fs in pool.map(worker, range(WORKERS)) for f in fs]
    assert not failures, "\n".join(failures)


def test_a_real_kill_leaves_what_the_copy_holds_and_resumes_to_the_same_mac(baselines, tmp_path):
    slots, base_final, base_applied, counts = baselines
    cases = _real_kills(counts)

    def one(i_case):
        i, case = i_case
        mac, state = tmp_path / f"c{i}" / "mac", tmp_path / f"c{i}" / "state"
        create_sim_mac(mac, users=["alice"])
        counter = tmp_path / f"c{i}" / "counter.json"
        mode, n = case.split(":")
        env = _env(f"{mode}:{n}:{counter}")
        store, codes = _drive(mac, state, env, stop_at_kill=True)
        failures = [] if codes[-1] == -9 and json.loads(counter.read_text())["fired"] else [f"{case}: the kill never fired ({codes})"]
        killed = _final(mac)
        copy = _final(slots[0] / "snaps" / case.replace(":", "-") / "mac", named=slots[0] / "mac")
        for tree, _ in (killed, copy):
            tree.pop(LOCK, None)
        if killed != copy:
            failures.append(f"{case}: the Mac after the kill differs from the copy taken at that point")
        store, codes = _drive(mac, state, env)
        return failures + _check(case, _final(mac), _applied(store), base_final, base_applied)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        failures = [f for fs in pool.map(one, enumerate(cases)) for f in fs]
    assert not failures, "\n".join(failures)
