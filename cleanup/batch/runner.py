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
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, fields

from cleanup.batch import prefetch
from cleanup.batch.approval import ApprovedDeletes, approved_keys
from cleanup.batch.ledger import PAGE, Ledger
from cleanup.engine.action import Pause, PauseKind
from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunOptions
from cleanup.engine.model import Playbook
from cleanup.engine.plan import CLOUD_DELETES, ChangeKind
from cleanup.engine.reporter import Reporter
from cleanup.engine.runner import DryRun, Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import (
    CleanupError,
    Paused,
    SafetyRefusal,
    StateError,
    StepFailed,
)
from cleanup.hosts import open_host
from cleanup.identifiers import SERIAL_RE

RESTART_RECHECK = 2.0  # seconds before looking whether a restarted Mac is back
VERIFY_RECHECK = 60.0  # seconds between looks at a registration not verified yet
VERIFY_ROUNDS = 30
NO_WAIT_HORIZON = 10.0  # with --no-wait, pauses shorter than this (a restart) are still waited for
PLAN_CHUNK = 20  # Macs planned together: their lookups fill one $batch of 20
PLAN_WORKERS = 8  # chunks planned at once: 160 Macs' records in memory, whatever the batch's size


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

    @classmethod
    def from_json(cls, data, where: str) -> BatchOptions:
        """The options a ledger recorded, exactly as :meth:`to_json` wrote them, else StateError."""
        problem = _options_problem(data)
        if problem:
            raise StateError(f"{where} was edited (options: {problem}); nothing was done")
        return cls(**data)


def _options_problem(data) -> str | None:
    if not isinstance(data, dict):
        return f"a {type(data).__name__}, not a table"
    names = {f.name for f in fields(BatchOptions)}
    if set(data) != names:
        return f"unknown {sorted(set(data) - names)}, missing {sorted(names - set(data))}"

    def number(v, lo):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= lo

    checks = {
        "concurrency": isinstance(data["concurrency"], int) and number(data["concurrency"], 1),
        "max_deletions": isinstance(data["max_deletions"], int) and number(data["max_deletions"], 0),
        "yes": isinstance(data["yes"], bool),
        "no_wait": isinstance(data["no_wait"], bool),
        "wait_seconds": data["wait_seconds"] is None or number(data["wait_seconds"], 0),
        "host_template": data["host_template"] is None or isinstance(data["host_template"], str),
        "hosts": isinstance(data["hosts"], dict)
        and all(isinstance(k, str) and SERIAL_RE.fullmatch(k) and isinstance(v, str) for k, v in data["hosts"].items()),
    }
    bad = [k for k, ok in checks.items() if not ok]
    return f"bad value for {', '.join(bad)}" if bad else None


class SharedCloud:
    """One cloud session for every run of the batch (one token per service, one gate); runs cannot close it."""

    def __init__(self, session) -> None:
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
    return [c for _, p in report.plans if p for c in p.changes if c.kind in CLOUD_DELETES]


def deleted_objects(store: StateStore, run_id: str) -> list[dict]:
    """The cloud objects a run deleted, from its audit log."""
    out = []
    for rec in AuditLog(store.run_dir(run_id) / "audit.jsonl").records():
        if rec.get("event") == "result" and rec.get("changed") and rec.get("kind") in CLOUD_DELETES:
            out.append({"service": CLOUD_DELETES[ChangeKind(rec["kind"])], "id": rec["key"].split(":", 1)[1], "target": rec.get("target")})
    return out


class BatchRunner:
    def __init__(self, store: StateStore, playbook: Playbook, opts: BatchOptions, cloud, on_mac: Callable[[dict], None] | None = None, escrow=None):
        self.escrow = escrow  # where step 4 saves what a Jamf Pro record escrowed (cleanup.escrow.Escrow), for every run
        self.store = store
        self.playbook = playbook
        self.opts = opts
        self.cloud = SharedCloud(cloud) if cloud is not None else None
        self.on_mac = on_mac or (lambda mac: None)
        self._budget_lock = threading.Lock()

    def _opener(self, serial: str | None = None, approved: frozenset[str] = frozenset()):
        """The cloud of a plan (read-only: no guard needed), or of one Mac's run (deletes only what it approved)."""
        if self.cloud is None:
            return None
        if serial is None:
            return lambda: self.cloud
        return lambda: ApprovedDeletes(self.cloud, serial, approved)

    def _selection(self, host: str) -> Selection:
        return Selection(only="cloud") if host == "none" else Selection()

    # -- planning ------------------------------------------------------------------------------------
    def plan(self, ledger: Ledger) -> int:
        """Plan every Mac of the ledger read-only, a chunk of Macs per worker, and store each Mac's plan in the
        ledger (the run takes its records from there). A Mac that cannot run as planned is marked: refused (an
        ambiguity needs a person) or failed (host or service trouble; tried again). Returns the deletions planned."""
        workers = max(1, min(self.opts.concurrency, PLAN_WORKERS))
        total = 0
        last = ""
        in_flight: set[Future] = set()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while True:
                chunk = ledger.serials(after=last, limit=PLAN_CHUNK)
                if chunk:
                    last = chunk[-1]
                    in_flight.add(pool.submit(self._plan_chunk, ledger, chunk))
                if in_flight and (len(in_flight) > workers or not chunk):
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    total += sum(f.result() for f in done)
                if not chunk and not in_flight:
                    return total

    def _plan_chunk(self, ledger: Ledger, serials: list[str]) -> int:
        lookups: dict[str, dict] = {}
        if self.cloud is not None:
            try:  # the chunk's records in a few bulk reads instead of a few reads per Mac
                lookups = prefetch.lookups(self.cloud, serials)
            except CleanupError:
                lookups = {}  # each Mac then looks itself up, and reports its own error
        results = [(serial, self._plan_mac(ledger.get(serial), lookups.get(serial))) for serial in serials]
        with ledger.transaction():
            for serial, changes in results:
                ledger.update(serial, **changes)
        return sum(len(approved_keys(changes.get("plan"))) for _, changes in results)

    def _plan_mac(self, mac: dict, lookups: dict | None) -> dict:
        """One Mac's plan, read-only, as ledger changes: the plan (with the objects it approves for deletion) or
        why the Mac cannot run as planned."""
        serial = mac["serial"]
        changes: dict = {}
        try:
            host = host_for(self.playbook, mac, self.opts)
            changes["host"] = host
            options = RunOptions(dry_run=True, serial=serial, batch_id="plan", lookups=lookups, escrow=self.escrow)
            report = Runner(None, open_host(host), self.playbook, options, cloud_opener=self._opener()).plan(self._selection(host))
            deletions = planned_deletions(report)
            changes["plan"] = {"cloud": report.facts.get("cloud"), "deletions": [c.target for c in deletions], "approved": sorted({c.key for c in deletions})}
            if report.refusals:
                changes.update(state="refused", outcome="; ".join(report.refusals), retryable=False)
        except SafetyRefusal as exc:
            changes.update(state="refused", outcome=exc.message, retryable=False)
        except CleanupError as exc:
            changes.update(state="failed", outcome=exc.message, retryable=True)
        return changes

    # -- running -------------------------------------------------------------------------------------
    def run(self, ledger: Ledger) -> dict[str, int]:
        """Run every Mac still due, at most ``concurrency`` at once; a waiting Mac is picked up when its time
        comes. Each Mac is tried at most once per invocation, except that a wait ending continues it."""
        slots = max(1, self.opts.concurrency)
        in_flight: dict[Future, str] = {}
        queue: list[str] = []  # the next page of Macs not started in this invocation
        last, exhausted = "", False
        with ThreadPoolExecutor(max_workers=slots) as pool:
            while True:
                busy = set(in_flight.values())
                now = time.time()
                for serial, _ in ledger.waiting(now, busy, slots - len(in_flight)):
                    in_flight[pool.submit(self._run_one, ledger, serial)] = serial
                while len(in_flight) < slots:
                    if not queue and not exhausted:
                        queue = ledger.runnable(after=last, limit=PAGE)
                        exhausted = len(queue) < PAGE
                        last = queue[-1] if queue else last
                        queue.reverse()
                    if not queue:
                        break
                    serial = queue.pop()
                    in_flight[pool.submit(self._run_one, ledger, serial)] = serial
                soonest = ledger.waiting(None, set(in_flight.values()), 1)
                if not in_flight:
                    if not soonest and exhausted and not queue:
                        break
                    if soonest:
                        pause = soonest[0][1] - time.time()
                        if self.opts.no_wait and pause > NO_WAIT_HORIZON:
                            break  # only (long) waits remain: the next scheduled run picks them up
                        time.sleep(max(0.0, pause))
                    continue
                timeout = max(0.05, soonest[0][1] - time.time()) if soonest else None
                done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in done:
                    in_flight.pop(fut)
                    self.on_mac(fut.result())
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

    def _run_one(self, ledger: Ledger, serial: str) -> dict:
        mac = ledger.get(serial)
        was = mac["state"]
        ledger.update(mac, state="running", attempts=mac["attempts"] + 1, started=mac.get("started") or time.time(), not_before=None)
        runner = None
        rid = None  # this Mac's run: recorded, found again after a kill, or the one started now
        changes: dict = {}
        try:
            rid = self._existing_run(ledger, mac, was)
            plan = ledger.plan(serial) if rid else self._approved_plan(ledger, mac)
            options = RunOptions(
                yes=True,
                no_wait=True,
                wait_seconds=self.opts.wait_seconds,
                autoresume=False,
                serial=serial,
                batch_id=ledger.batch_id,
                prefetched=(plan or {}).get("cloud"),
                escrow=self.escrow,
            )
            runner = Runner(self.store, open_host(mac["host"]), self.playbook, options, Reporter(), cloud_opener=self._opener(serial, approved_keys(plan)))
            if rid:
                self._check_run(ledger, serial, rid)
                runner.resume(rid)
            else:
                runner.start(self._selection(mac["host"]))
            changes = {"state": "done", "outcome": "done", "retryable": False, "ended": time.time()}
        except Paused as exc:
            pause = exc.pause if isinstance(exc.pause, Pause) else None  # Paused.pause is a Pause or None
            not_before = self._not_before(pause, mac["attempts"])
            if not_before:
                changes = {"state": "waiting", "outcome": exc.message, "not_before": not_before}
            else:
                changes = {"state": "failed", "outcome": exc.message, "retryable": True, "ended": time.time()}
        except SafetyRefusal as exc:
            changes = {"state": "refused", "outcome": exc.message, "retryable": False, "ended": time.time()}
        except CleanupError as exc:
            retry = exc.retryable
            changes = {"state": "failed", "outcome": exc.message, "retryable": retry, "ended": time.time()}
        except Exception as exc:
            changes = {"state": "failed", "outcome": f"internal error: {type(exc).__name__}: {exc}", "retryable": False, "ended": time.time()}
        if runner is not None:
            runner.host.close()  # an ssh host's connection is not kept per finished Mac
        rid = (runner and runner.run_id) or rid
        if rid:
            changes["run_id"] = rid
            changes["deleted"] = deleted_objects(self.store, rid)
        ledger.update(mac, **changes)
        return mac

    def _approved_plan(self, ledger: Ledger, mac: dict) -> dict | None:
        """The Mac's approved plan; a Mac whose planning failed is planned now, within what is left of the
        deletion budget (its run deletes only what that plan holds)."""
        plan = ledger.plan(mac["serial"])
        if plan is not None:
            return plan
        changes = self._plan_mac(mac, None)
        problem, outcome = changes.pop("state", None), changes.pop("outcome", "")
        changes.pop("retryable", None)
        with self._budget_lock:
            if problem is None:
                n, used = len(approved_keys(changes.get("plan"))), ledger.planned_total()
                if used + n > self.opts.max_deletions:
                    raise SafetyRefusal(
                        f"Mac {mac['serial']}: planned again after its planning failed, it would delete {n} cloud "
                        f"object(s), more than the {max(0, self.opts.max_deletions - used)} --max-deletions "
                        f"{self.opts.max_deletions} leaves; nothing of it was changed"
                    )
            if changes:
                ledger.update(mac, **changes)
        if problem == "refused":
            raise SafetyRefusal(outcome)
        if problem == "failed":
            raise StepFailed(outcome)
        return changes.get("plan")

    def _check_run(self, ledger: Ledger, serial: str, run_id: str) -> None:
        """A run resumed for the batch must be the batch's, on the approved playbook."""
        state, _ = self.store.load(run_id)
        if state.options.get("batch_id") != ledger.batch_id or state.playbook_sha256 != ledger.meta["playbook_sha256"]:
            raise SafetyRefusal(
                f"run {run_id} of Mac {serial} is not a run of batch {ledger.batch_id}'s approved playbook "
                f"(batch {state.options.get('batch_id')}, playbook {state.playbook} {state.playbook_sha256[:12]}); refusing"
            )

    @staticmethod
    def _not_before(pause: Pause | None, attempts: int) -> float | None:
        """When to pick a paused Mac up again: its wait's end, shortly after a restart, or a while after an
        unverified registration; None for pauses that need a person (the Mac is reported instead)."""
        if pause is None or pause.kind == PauseKind.BLOCKED:
            return None
        if pause.kind == PauseKind.WAIT and pause.not_before:
            return float(pause.not_before)
        if pause.kind == PauseKind.RESTART:
            return time.time() + RESTART_RECHECK
        if pause.kind == PauseKind.POLL and attempts < VERIFY_ROUNDS:
            return time.time() + VERIFY_RECHECK
        return None
