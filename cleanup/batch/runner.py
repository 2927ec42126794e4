"""`cleanup batch run`: a playbook over many Macs at once, within the services' limits, resumable.

The whole batch is planned first, read-only (that plan is what `--dry-run` prints and what `--max-deletions`
is checked against), then the Macs run side by side: at most ``concurrency`` in flight, Jamf Pro at ≤ 5
connections (its client's own limit), Graph through one shared gate that keeps Intune's write limit and makes a
429 slow the whole batch down. A Mac in its wait holds no worker: it is picked up again when its time comes.
The ledger records every Mac's state; the per-Mac checkpoints make each Mac's run resumable.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Callable

from cleanup.batch.ledger import Ledger, retry_due
from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunOptions
from cleanup.engine.model import Playbook
from cleanup.engine.reporter import Reporter
from cleanup.engine.runner import DryRun, Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import CleanupError, HostError, Paused, SafetyRefusal, StepFailed
from cleanup.hosts import open_host

RESTART_RECHECK = 2.0  # seconds before looking whether a restarted Mac is back
VERIFY_RECHECK = 60.0  # seconds between looks at a registration not verified yet
VERIFY_ROUNDS = 30
NO_WAIT_HORIZON = 10.0  # with --no-wait, pauses shorter than this (a restart) are still waited for
DELETE_KINDS = {"delete-jamf-record": "jamf", "delete-entra-device": "entra", "delete-intune-record": "intune"}


@dataclass
class BatchOptions:
    concurrency: int = 10
    max_deletions: int = 50
    yes: bool = False
    no_wait: bool = False
    wait_seconds: float | None = None
    host_template: str | None = None
    hosts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


class SharedCloud:
    """One cloud session for every run of the batch (one token per service, one gate); runs cannot close it."""

    def __init__(self, session):
        self.session = session
        self.permission_memo: dict = {}
        self.permission_lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.session, name)

    def close(self) -> None:
        pass


def cloud_only(playbook: Playbook) -> bool:
    return all(s.acts_on != "device" for s in playbook.steps)


def host_for(playbook: Playbook, mac: dict, opts: BatchOptions) -> str:
    if cloud_only(playbook):
        return "none"
    if mac["serial"] in opts.hosts:
        return opts.hosts[mac["serial"]]
    if opts.host_template:
        if "{name}" in opts.host_template and not mac.get("name"):
            raise CleanupError(f"Mac {mac['serial']}: no computer name for the host template {opts.host_template!r}")
        return opts.host_template.format(serial=mac["serial"], name=mac.get("name") or "")
    raise CleanupError(f"Mac {mac['serial']}: no host; give --host-template or --hosts-file")


def planned_deletions(report: DryRun) -> list:
    return [c for _, p in report.plans if p for c in p.changes if c.kind in DELETE_KINDS]


def deleted_objects(store: StateStore, run_id: str) -> list[dict]:
    """The cloud objects a run deleted, from its audit log."""
    out = []
    for rec in AuditLog(store.run_dir(run_id) / "audit.jsonl").records():
        if rec.get("event") == "result" and rec.get("changed") and rec.get("kind") in DELETE_KINDS:
            out.append({"service": DELETE_KINDS[rec["kind"]], "id": rec["key"].split(":", 1)[1], "target": rec.get("target")})
    return out


class BatchRunner:
    def __init__(self, store: StateStore, playbook: Playbook, opts: BatchOptions, cloud, on_mac: Callable[[dict], None] | None = None):
        self.store = store
        self.playbook = playbook
        self.opts = opts
        self.cloud = SharedCloud(cloud) if cloud is not None else None
        self.on_mac = on_mac or (lambda mac: None)
        # per Mac, only what the run needs from its plan: memory stays small with ten thousand Macs
        self.plans: dict[str, dict] = {}

    def _opener(self):
        return (lambda: self.cloud) if self.cloud is not None else None

    def _selection(self, host: str) -> Selection:
        return Selection(only="cloud") if host == "none" else Selection()

    # -- planning ------------------------------------------------------------------------------------
    def plan(self, macs: list[dict]) -> dict[str, dict]:
        """Plan every Mac read-only, side by side; returns serial -> ledger changes for the Macs that cannot run
        as planned: refused (an ambiguity needs a person) or failed (host or service trouble; tried again)."""
        problems: dict[str, dict] = {}
        jamf: dict[str, list] = {}
        if self.cloud is not None and self.cloud.config.jamf_configured():
            try:  # every Mac's Jamf records in a few queries, instead of one per Mac through 5 connections
                jamf = self.cloud.jamf.computers_by_serials([m["serial"] for m in macs])
            except CleanupError:
                jamf = {}  # each Mac then looks itself up, and reports its own error

        def one(mac: dict) -> None:
            try:
                host = host_for(self.playbook, mac, self.opts)
                mac["host"] = host
                options = RunOptions(dry_run=True, serial=mac["serial"], batch_id="plan", jamf_records=jamf.get(mac["serial"]))
                report = Runner(None, open_host(host), self.playbook, options, cloud_opener=self._opener()).plan(self._selection(host))
                self.plans[mac["serial"]] = {"cloud": report.facts.get("cloud"),
                                             "deletions": [c.target for c in planned_deletions(report)]}
                if report.refusals:
                    problems[mac["serial"]] = {"state": "refused", "outcome": "; ".join(report.refusals), "retryable": False}
            except SafetyRefusal as exc:
                problems[mac["serial"]] = {"state": "refused", "outcome": exc.message, "retryable": False}
            except CleanupError as exc:
                problems[mac["serial"]] = {"state": "failed", "outcome": exc.message, "retryable": True}

        with ThreadPoolExecutor(max_workers=max(1, self.opts.concurrency)) as pool:
            list(pool.map(one, macs))
        return problems

    def total_deletions(self) -> int:
        return sum(len(p["deletions"]) for p in self.plans.values())

    # -- running -------------------------------------------------------------------------------------
    def run(self, ledger: Ledger) -> dict[str, int]:
        todo = [m for m in ledger.macs if retry_due(m)]
        in_flight: dict[Future, dict] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.opts.concurrency)) as pool:
            while todo or in_flight:
                now = time.time()
                busy = {id(m) for m in in_flight.values()}
                for mac in [m for m in todo if id(m) not in busy and (m.get("not_before") or 0) <= now]:
                    if len(in_flight) >= self.opts.concurrency:
                        break
                    in_flight[pool.submit(self._run_one, ledger, mac)] = mac
                if not in_flight:
                    soonest = min(m["not_before"] for m in todo)
                    if self.opts.no_wait and soonest - time.time() > NO_WAIT_HORIZON:
                        break  # only (long) waits remain: the next scheduled run picks them up
                    time.sleep(max(0.0, soonest - time.time()))
                    continue
                busy = {id(m) for m in in_flight.values()}
                next_due = min((m["not_before"] for m in todo if m.get("not_before") and id(m) not in busy), default=None)
                timeout = max(0.05, next_due - time.time()) if next_due else None
                done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in done:
                    mac = in_flight.pop(fut)
                    fut.result()
                    if mac["state"] != "waiting":
                        todo.remove(mac)
                    self.on_mac(mac)
        return ledger.counts()

    def _existing_run(self, ledger: Ledger, mac: dict, was: str) -> str | None:
        """The run of this Mac in this batch, if a crash came between creating it and recording it."""
        if mac.get("run_id"):
            return mac["run_id"]
        if was != "running":
            return None  # never started: nothing to find
        runs = self.store.runs_dir
        for rid in sorted(p.name for p in runs.glob(mac["serial"] + "-*")) if runs.is_dir() else []:
            try:
                state, _ = self.store.load(rid)
            except CleanupError:
                continue
            if state.options.get("batch_id") == ledger.batch_id:
                return rid
        return None

    def _run_one(self, ledger: Ledger, mac: dict) -> None:
        serial = mac["serial"]
        was = mac["state"]
        ledger.update(mac, state="running", attempts=mac["attempts"] + 1, started=mac.get("started") or time.time(), not_before=None)
        report = self.plans.pop(serial, None)
        options = RunOptions(yes=True, no_wait=True, wait_seconds=self.opts.wait_seconds, autoresume=False, serial=serial,
                             batch_id=ledger.batch_id, prefetched=(report["cloud"] if report else None))
        runner = None
        changes: dict = {}
        try:
            runner = Runner(self.store, open_host(mac["host"]), self.playbook, options, Reporter(), cloud_opener=self._opener())
            rid = self._existing_run(ledger, mac, was)
            runner.resume(rid) if rid else runner.start(self._selection(mac["host"]))
            changes = {"state": "done", "outcome": "done", "retryable": False, "ended": time.time()}
        except Paused as exc:
            not_before = self._not_before((runner and runner.run_id) or mac.get("run_id"), mac["attempts"])
            if not_before:
                changes = {"state": "waiting", "outcome": exc.message, "not_before": not_before}
            else:
                changes = {"state": "failed", "outcome": exc.message, "retryable": True, "ended": time.time()}
        except SafetyRefusal as exc:
            changes = {"state": "refused", "outcome": exc.message, "retryable": False, "ended": time.time()}
        except CleanupError as exc:
            retry = isinstance(exc, (HostError, StepFailed)) or type(exc).__name__ in ("ServiceError", "GraphError", "JamfError")
            changes = {"state": "failed", "outcome": exc.message, "retryable": retry, "ended": time.time()}
        except Exception as exc:  # noqa: BLE001 - one Mac's bug must not stop the others
            changes = {"state": "failed", "outcome": f"internal error: {type(exc).__name__}: {exc}", "retryable": False, "ended": time.time()}
        close = getattr(runner.host, "close", None) if runner else None
        if close is not None:
            close()  # an ssh host's connection is not kept per finished Mac
        rid = (runner and runner.run_id) or mac.get("run_id")
        if rid:
            changes["run_id"] = rid
            changes["deleted"] = deleted_objects(self.store, rid)
        ledger.update(mac, **changes)

    def _not_before(self, run_id: str | None, attempts: int) -> float | None:
        """When to pick a paused Mac up again: its wait's end, shortly after a restart, or a while after an
        unverified registration; None for pauses that need a person (the Mac is reported instead)."""
        if not run_id:
            return None
        try:
            state, _ = self.store.load(run_id)
        except CleanupError:
            return None
        st = next((s for s in state.steps if s.state not in ("done", "skipped", "excluded")), None)
        if st is None:
            return None
        if st.data.get("not_before"):
            return float(st.data["not_before"])
        action = self.playbook.step(st.id).action
        if action == "reboot.restart":
            return time.time() + RESTART_RECHECK
        if action == "verify.registration" and attempts < VERIFY_ROUNDS:
            return time.time() + VERIFY_RECHECK
        return None
