"""The lifecycle of a batch: check the request, take the state folder's lock, finish what the last batch left,
select, plan read-only, hold the plan to the deletion budget, run, write the reports.

Each entry point is a context manager that yields what the CLI renders while the batch's ledger is still open
(a batch of ten thousand Macs is rendered a page at a time from it) and closes the ledger and the cloud session
afterwards, whatever happens.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cleanup.batch.approval import approved_playbook
from cleanup.batch.hosts import check_template
from cleanup.batch.ledger import Ledger, batch_lock, playbook_sha256
from cleanup.batch.runner import BatchOptions, BatchRunner
from cleanup.batch.watch import Watcher
from cleanup.engine.model import Playbook
from cleanup.engine.store import StateStore
from cleanup.errors import (
    CleanupError,
    Paused,
    SafetyRefusal,
    StateError,
    StepFailed,
    UsageError,
)


@dataclass(frozen=True)
class Which:
    """Which Macs a batch takes: a Jamf Pro group, a file of serials, rules for the article's symptoms."""

    group: str | None = None
    serials_file: Path | None = None
    rules: tuple[str, ...] = ()

    def check(self) -> None:
        from cleanup.batch.select import RULES

        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise UsageError(f"unknown rule {unknown[0]!r}: use {', '.join(RULES)}")
        if not (self.group or self.serials_file or self.rules):
            raise UsageError("say which Macs: --group NAME, --serials-file FILE or --rule RULE (repeatable)")

    def needs_cloud(self) -> bool:
        return bool(self.group or self.rules)


@dataclass(frozen=True)
class Limits:
    """Intune's write limit, which the batch's shared Graph gate keeps (Microsoft: 200 writes per 20 s per app)."""

    write_limit: int = 200
    window: float = 20.0


@dataclass(frozen=True)
class Request:
    """What `cleanup batch run` was asked to do."""

    playbook: str
    which: Which
    opts: BatchOptions = field(default_factory=BatchOptions)
    limits: Limits = Limits()
    config: Path | None = None


@dataclass
class Planned:
    """A batch selected and planned, not run (a dry-run)."""

    ledger: Ledger
    total: int
    max_deletions: int

    def rows(self) -> Iterator[dict]:
        """Each Mac's plan: its deletions, or why it cannot run as planned."""
        for mac in self.ledger.macs():
            plan = self.ledger.plan(mac["serial"]) or {}
            problem = mac["outcome"] if mac["state"] in ("refused", "failed") else None
            yield {
                "serial": mac["serial"],
                "name": mac.get("name"),
                "reasons": mac["reasons"],
                "host": mac.get("host"),
                "deletions": plan.get("deletions") or [],
                "problem": problem,
            }

    def problem(self) -> CleanupError | None:
        if self.total > self.max_deletions:
            return SafetyRefusal(f"a run would refuse: {self.total} deletions exceed --max-deletions {self.max_deletions}")
        return None


@dataclass
class Finished:
    """A batch after this invocation's run: its ledger, its Macs by state and its reports."""

    ledger: Ledger
    counts: dict[str, int]
    reports: dict[str, Path]

    @property
    def batch_id(self) -> str:
        return self.ledger.batch_id

    def problem(self) -> CleanupError | None:
        """Why the invocation does not exit 0: Macs not repaired (1), or Macs still waiting (3)."""
        failed = self.counts.get("failed", 0) + self.counts.get("refused", 0)
        if failed:
            return StepFailed(
                f"batch {self.batch_id}: {failed} Mac(s) not repaired (see the report); the others are done or waiting",
                hint=f"retryable ones are retried by `cleanup batch resume {self.batch_id}`",
            )
        if self.counts.get("waiting"):
            return Paused(f"batch {self.batch_id}: {self.counts['waiting']} Mac(s) waiting; `cleanup batch resume {self.batch_id}` continues")
        return None


# -- the cloud ---------------------------------------------------------------------------------------------


def open_cloud(config: Path | None, limits: Limits = Limits()):
    """The batch's one cloud session, with the Graph gate every run of the batch shares."""
    from cleanup.clients.session import open_session
    from cleanup.clients.throttle import Gate

    session = open_session(config, gate=Gate(limits.write_limit, limits.window))
    if not session.configured():
        raise UsageError("a batch needs Jamf Pro and Graph configured", hint="`cleanup creds set jamf` and `cleanup creds set graph`")
    return session


def _escrow(cloud, root: Path | None):
    """Where the batch's runs save what a Jamf Pro record escrowed before step 4: the keyring, else escrow files
    encrypted to the config's [escrow] recipient (a batch on a server without a keyring); ``root`` None: the
    default state folder's (a dry-run only names it)."""
    from cleanup.engine.store import default_state_dir
    from cleanup.escrow import open_escrow

    return open_escrow(cloud.config, root or default_state_dir())


def select_macs(which: Which, config: Path | None = None) -> list[dict]:
    """`batch select`: the flagged Macs with their reasons and evidence. Changes nothing."""
    from cleanup.batch.select import select

    which.check()
    with ExitStack() as stack:
        cloud = stack.enter_context(open_cloud(config)) if which.needs_cloud() else None
        return select(cloud, group=which.group, serials_file=which.serials_file, rules=which.rules)


# -- run -----------------------------------------------------------------------------------------------------


def _check(request: Request, dry_run: bool = False) -> Playbook:
    """Everything about the request that can be wrong, before anything is created."""
    from cleanup.engine.loader import load_playbook

    request.which.check()
    check_template(request.opts.host_template)
    playbook = load_playbook(request.playbook)
    if not dry_run and not request.opts.yes:
        raise UsageError("a batch changes many Macs and cannot ask each time: review it with --dry-run, then add --yes")
    return playbook


def _select_and_plan(runner: BatchRunner, ledger: Ledger, which: Which) -> int:
    """Select the Macs into the ledger and plan each one read-only; returns the deletions planned."""
    from cleanup.batch.select import select

    assert runner.cloud is not None  # dry_run and run always open the cloud
    with ledger.transaction():
        select(runner.cloud.session, group=which.group, serials_file=which.serials_file, rules=which.rules, into=ledger)
    return runner.plan(ledger)


@contextmanager
def dry_run(request: Request) -> Iterator[Planned]:
    """Select and plan in a scratch folder outside the state folder: a dry-run leaves nothing behind."""
    playbook = _check(request, dry_run=True)
    with open_cloud(request.config, request.limits) as cloud, tempfile.TemporaryDirectory(prefix="cleanup-dry-run-") as scratch:
        runner = BatchRunner(StateStore(Path(scratch)), playbook, request.opts, cloud, escrow=_escrow(cloud, None))
        ledger = Ledger.create(Path(scratch), playbook.name, request.opts.to_json(), playbook.text)
        try:
            total = _select_and_plan(runner, ledger, request.which)
            yield Planned(ledger, total, request.opts.max_deletions)
        finally:
            ledger.close()


@contextmanager
def run(request: Request, store: StateStore, watcher: Watcher | None = None) -> Iterator[Finished]:
    """`batch run`: under the state folder's lock, finish the batch the last run left for this playbook, or
    select, plan and (within the deletion budget) run a new one."""
    playbook = _check(request)
    watcher = watcher or Watcher()
    with open_cloud(request.config, request.limits) as cloud, batch_lock(store.root):
        Ledger.discard_abandoned(store.root)
        unfinished = _unfinished(store.root, playbook)
        if unfinished is not None:
            watcher.continuing(unfinished.batch_id)
            with _closing(unfinished):
                yield _execute(BatchRunner(store, approved_playbook(unfinished), request.opts, cloud, escrow=_escrow(cloud, store.root)), unfinished, watcher)
            return
        runner = BatchRunner(store, playbook, request.opts, cloud, escrow=_escrow(cloud, store.root))
        with _closing(_approve(runner, request)) as ledger:
            yield _execute(runner, ledger, watcher)


def _approve(runner: BatchRunner, request: Request) -> Ledger:
    """A new batch, selected and planned; moved where resume finds it only if its plan is within the budget."""
    opts, playbook = request.opts, runner.playbook
    ledger = Ledger.create(runner.store.root, playbook.name, opts.to_json(), playbook.text)
    try:
        total = _select_and_plan(runner, ledger, request.which)
        if total > opts.max_deletions:
            raise SafetyRefusal(
                f"the batch would delete {total} cloud objects, more than --max-deletions {opts.max_deletions}; nothing was changed",
                hint="check it with --dry-run; raise --max-deletions if it is right",
            )
        ledger.open_for_run()
    except BaseException:
        ledger.discard()  # selected and planned only: nothing was changed, nothing to keep
        raise
    return ledger


def _unfinished(root: Path, playbook: Playbook) -> Ledger | None:
    """The latest batch with work left that approved this very playbook (same text), opened for writing."""
    for bid in reversed(Ledger.batch_ids(root)):
        with _closing(Ledger.load(root, bid)) as ledger:
            due = ledger.meta["playbook_sha256"] == playbook_sha256(playbook.text) and ledger.any_due()
        if due:
            return Ledger.load(root, bid, write=True)
    return None


def _execute(runner: BatchRunner, ledger: Ledger, watcher: Watcher) -> Finished:
    from cleanup.batch.reports import write_reports

    watcher.started(ledger.batch_id, ledger.counts())
    runner.on_mac = watcher.mac
    try:
        counts = runner.run(ledger)
    finally:
        watcher.finished()
        ledger.touch()
    return Finished(ledger, counts, write_reports(ledger.dir, ledger.meta, ledger.macs, runner.store))


@contextmanager
def _closing(ledger: Ledger) -> Iterator[Ledger]:
    try:
        yield ledger
    finally:
        ledger.close()


# -- resume and status ------------------------------------------------------------------------------------


@contextmanager
def resume(store: StateStore, batch_id: str | None, *, no_wait: bool = False, config: Path | None = None, watcher: Watcher | None = None) -> Iterator[Finished]:
    """`batch resume`: the batch runs what was approved, the playbook text and the options its ledger stored."""
    with batch_lock(store.root), _closing(Ledger.load(store.root, batch_id or latest(store.root), write=True)) as ledger:
        playbook = approved_playbook(ledger)
        opts = _approved_options(ledger)
        opts.no_wait = no_wait
        with open_cloud(config) as cloud:
            yield _execute(BatchRunner(store, playbook, opts, cloud, escrow=_escrow(cloud, store.root)), ledger, watcher or Watcher())


def _approved_options(ledger: Ledger) -> BatchOptions:
    where = f"batch ledger {ledger.path}"
    opts = BatchOptions.from_json(ledger.meta["options"], where)
    try:
        check_template(opts.host_template)
    except UsageError as exc:
        raise StateError(f"{where} was edited ({exc.message}); nothing was done") from None
    return opts


def latest(root: Path) -> str:
    """The most recent batch, or a UsageError that says why there is none."""
    ids = Ledger.batch_ids(root)
    if ids:
        return ids[-1]
    left = Ledger.abandoned(root)
    note = (
        (
            f"; {', '.join(left)} in {root / 'batches'} is the planning folder of a `batch run` that was stopped before its "
            "plan was allowed (it changed nothing; the next `batch run` removes it)"
        )
        if left
        else ""
    )
    raise UsageError(f"no batch to resume in {root}{note}", hint="`cleanup batch run` starts one")


def batches(root: Path) -> list[dict]:
    """Every batch of the state folder: its id, playbook and Macs by state."""
    out = []
    for bid in Ledger.batch_ids(root):
        with _closing(Ledger.load(root, bid)) as ledger:
            out.append({"batch_id": bid, "playbook": ledger.meta["playbook"], "counts": ledger.counts()})
    return out


@contextmanager
def open_batch(root: Path, batch_id: str) -> Iterator[Ledger]:
    """One batch's ledger, read-only (a running batch can be watched)."""
    with _closing(Ledger.load(root, batch_id)) as ledger:
        yield ledger
