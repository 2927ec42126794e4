"""The runner: walks a playbook's steps in order, probe -> plan -> apply, checkpointing every transition.

A dry-run is the same walk stopped after planning, with no store and no lock. A run can be killed at any
moment: on resume the interrupted step is probed and planned again, and changes whose intent was logged
but whose result was not are reconciled against the new plan (gone = applied before the crash).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cleanup.engine.action import Action, Outcome, Pause, PauseKind, registry
from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunContext, RunOptions
from cleanup.engine.model import Playbook, Step
from cleanup.engine.plan import Change, StepPlan
from cleanup.engine.reporter import Reporter
from cleanup.engine.selection import Selection
from cleanup.engine.state import FINISHED, UNFINISHED, RunState, RunStatus, StepState, StepStatus
from cleanup.engine.store import StateStore
from cleanup.errors import Ambiguous, ChangeBlocked, CleanupError, Paused, SafetyRefusal, StepFailed, UsageError
from cleanup.hosts import probes
from cleanup.hosts.base import Host

__all__ = ["DryRun", "Runner", "Selection"]


@dataclass
class DryRun:
    host: str
    playbook: Playbook
    facts: dict[str, Any]
    plans: list[tuple[Step, StepPlan | None]] = field(default_factory=list)  # None: excluded by the selection
    refusals: list[str] = field(default_factory=list)  # ambiguities a real run would refuse (status 4)


def _cloud_scope(ctx: RunContext) -> str:
    """Which Jamf Pro and tenant a run without a Mac acts on: the same serial elsewhere is another Mac."""
    cfg = getattr(ctx.cloud, "config", None)
    where = f"{getattr(cfg, 'jamf_url', '') or ''}|{getattr(cfg, 'tenant_id', '') or ''}"
    return hashlib.sha256(where.encode()).hexdigest()[:12]


def _unfinished(run: RunState, root: Path) -> SafetyRefusal:
    return SafetyRefusal(
        f"Mac {run.serial} has an unfinished run {run.run_id} ({run.status}, state folder {root}); "
        "a new run would start again from step 0 without its recorded facts",
        hint=f"`cleanup resume {run.run_id}` continues it (add --state-dir {root} if that is not this folder); "
        f"`cleanup abandon {run.run_id}` gives it up first, if that is really what you want",
    )


class Runner:
    def __init__(
        self,
        store: StateStore | None,
        host: Host,
        playbook: Playbook,
        options: RunOptions,
        reporter: Reporter | None = None,
        cloud_opener: Callable[[], Any] | None = None,
    ) -> None:
        self.cloud_opener = cloud_opener
        self.run_id: str | None = None  # the run start() created (known even when it then pauses)
        self._current: RunState | None = None  # the run under the host lock
        self.store = store
        self.host = host
        self.playbook = playbook
        self.options = options
        self.reporter = reporter or Reporter()
        self.actions = registry()

    @property
    def _store(self) -> StateStore:
        """The store of a real run (only a dry-run has none, and it never asks for it)."""
        assert self.store is not None
        return self.store

    def _context(self, facts: dict[str, Any] | None = None, run_id: str = "", included: set[str] | None = None) -> RunContext:
        return RunContext(
            included=set(included or ()),
            playbook=self.playbook,
            cloud_opener=self.cloud_opener,
            host=self.host,
            options=self.options,
            facts=dict(facts or {}),
            run_id=run_id,
            state_dir=str(self.store.root) if self.store else "",
            wait_ui=None if self.options.no_wait else self.reporter.wait_until,
        )

    # -- dry-run -------------------------------------------------------------------------------
    def plan(self, selection: Selection) -> DryRun:
        included = selection.included(self.playbook, self.host.device)
        ctx = self._context(included=included)
        try:
            return self._plan(ctx, included)
        finally:
            ctx.close_cloud()

    def _plan(self, ctx: RunContext, included: set[str]) -> DryRun:
        report = DryRun(self.host.spec, self.playbook, ctx.facts)
        for step in self.playbook.steps:
            if step.id not in included:
                report.plans.append((step, None))
                continue
            ctx.data = {}
            action = self.actions[step.action]
            if action.read_only:
                plan = action.plan(ctx, step)  # a Mac we cannot even read is an error, not a plan
            else:
                try:
                    plan = action.plan(ctx, step)
                except Ambiguous as exc:
                    report.refusals.append(f"step {step.number} ({step.id}): {exc.message}" + (f"; {exc.hint}" if exc.hint else ""))
                    plan = StepPlan(cannot_plan=f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
                except SafetyRefusal:
                    raise
                except CleanupError as exc:
                    plan = StepPlan(cannot_plan=exc.message)
            ctx.facts.update(plan.facts)
            report.plans.append((step, plan))
        report.facts = ctx.facts
        return report

    # -- real runs -----------------------------------------------------------------------------
    def start(self, selection: Selection, skip: Sequence[str] = ()) -> RunState:
        assert self.store is not None
        if self.host.device:
            probes.require_mac(self.host)
            probes.require_root(self.host)  # before step 0 reads keychains as their users
            serial = probes.serial_number(self.host)
            if self.options.serial and self.options.serial != serial:
                raise SafetyRefusal(f"--serial {self.options.serial} was given, but {self.host.spec} is Mac {serial}; refusing")
        elif not self.options.serial:
            raise UsageError("a cloud-only run needs --serial SN (there is no Mac to read it from)")
        else:
            serial = self.options.serial
        included = selection.included(self.playbook, self.host.device)
        with self.store.lock(serial):
            ctx = self._context(included=included)
            try:
                with self._host_lock(ctx, serial) as previous:
                    self._refuse_unfinished(serial, previous)
                    return self._start(ctx, selection, included, serial, skip)
            finally:
                ctx.close_cloud()

    @contextlib.contextmanager
    def _host_lock(self, ctx: RunContext, serial: str, run_id: str = "") -> Iterator[str]:
        """Hold the run lock on the Mac itself (or, without a Mac, the one of its serial and cloud that every state
        folder shares) on top of this folder's; on release it names the run if that is unfinished."""
        key = serial if self.host.device else f"{serial}-{_cloud_scope(ctx)}"
        previous = self.host.lock_run(key, self._holder(run_id))
        self._current = None
        try:
            yield previous
        finally:
            run = self._current
            note = previous  # refused before a run began: what the lock said stays said
            if run is not None:
                note = self._holder(run.run_id) if run.status in UNFINISHED and self._touched(run) else ""
            with contextlib.suppress(CleanupError):  # a lost connection released it already (the agent ended)
                self.host.unlock_run(note)

    def _touched(self, run: RunState) -> bool:
        """Whether the run may have changed something (an intent was logged): until then a new run loses nothing."""
        return any(r.get("event") == "intent" for r in self._audit(run).records())

    def _holder(self, run_id: str) -> str:
        return json.dumps({"pid": os.getpid(), "run": run_id or None, "state_dir": str(self._store.root), "host": self.host.spec})

    def _refuse_unfinished(self, serial: str, previous: str) -> None:
        """A new run of a Mac whose earlier run is unfinished would run step 0 again on a half-reset Mac (its deviceId
        gone, so a name would stand in for it): refuse, naming that run, here or in the state folder the Mac names."""
        for run in self._store.unfinished(serial):
            raise _unfinished(run, self._store.root)
        try:
            note = json.loads(previous)
            other = StateStore(Path(note["state_dir"])) if note.get("run") else None
        except (ValueError, TypeError, KeyError, AttributeError):
            return  # no note (the last run finished) or not ours
        if other is None or other.root == self._store.root:
            return
        try:
            run, _ = other.load(note["run"])
        except (CleanupError, OSError):
            return  # that state folder is gone or unreadable: its run cannot be resumed from there anyway
        if run.serial == serial and run.status in UNFINISHED:
            raise _unfinished(run, other.root)

    def _start(self, ctx: RunContext, selection: Selection, included: set[str], serial: str, skip: Sequence[str]) -> RunState:
        prefix: list[tuple[Step, StepPlan]] = []
        for step in self.playbook.steps:
            action = self.actions[step.action]
            if not action.read_only:
                break
            if step.id not in included:
                continue
            self.reporter.step_started(step)
            plan = action.plan(ctx, step)
            ctx.facts.update(plan.facts)
            prefix.append((step, plan))
            self.reporter.step_ended(step, StepStatus.DONE, plan.summary())
        now = time.time()
        run = RunState(
            run_id=self._store.new_run_id(serial),
            playbook=self.playbook.name,
            playbook_sha256=hashlib.sha256(self.playbook.text.encode()).hexdigest(),
            host=self.host.spec,
            serial=serial,
            computer_name=ctx.facts.get("computer_name", ""),
            created=now,
            updated=now,
            options={
                **selection.to_json(),
                "yes": self.options.yes,
                "autoresume": self.options.autoresume,
                "wait_seconds": self.options.wait_seconds,
                "choices": self.options.choices,
                "batch_id": self.options.batch_id,
            },
            facts=ctx.facts,
            steps=[StepState(s.id, StepStatus.PENDING if s.id in included else StepStatus.EXCLUDED) for s in self.playbook.steps],
        )
        for step, plan in prefix:
            st = run.step(step.id)
            st.mark(StepStatus.RUNNING)
            st.mark(StepStatus.DONE, plan.summary())
            st.notes = plan.notes
        self._store.create(run, self.playbook.text)
        self._current = run
        self.host.label_run_lock(self._holder(run.run_id))
        ctx.run_id = self.run_id = run.run_id
        self._audit(run).append({"event": "run-start", "run": run.run_id, "serial": serial, "host": self.host.spec, "playbook": self.playbook.name})
        for service, ids in sorted(self.options.choices.items()):
            self._audit(run).append(
                {"event": "override", "run": run.run_id, "kind": "choose", "service": service, "ids": ids, "time": now, "by": "command line"}
            )
        self._overrides(run, skip)
        return self._walk(run, ctx)

    def resume(self, run_id: str, skip: Sequence[str] = ()) -> RunState:
        assert self.store is not None
        run, _ = self.store.load(run_id)
        if self.host.device:
            probes.require_mac(self.host)
            probes.require_root(self.host)
            serial = probes.serial_number(self.host)
        elif run.host != self.host.spec:
            raise SafetyRefusal(f"run {run_id} acts on Mac {run.serial} at {run.host}; it cannot continue without that Mac")
        else:
            serial = run.serial
        if serial != run.serial:
            raise SafetyRefusal(f"run {run_id} belongs to Mac {run.serial}, but {self.host.spec} is Mac {serial}; refusing")
        with self.store.lock(serial, run_id):
            run, _ = self.store.load(run_id)  # re-read under the lock
            if run.status == RunStatus.ABANDONED:
                raise SafetyRefusal(f"run {run_id} was abandoned; it cannot be resumed", hint="`cleanup run` starts a new run")
            included = {s.id for s in run.steps if s.state != StepStatus.EXCLUDED}
            ctx = self._context(run.facts, run.run_id, included)
            try:
                with self._host_lock(ctx, serial, run_id):
                    self._current = run
                    if run.status == RunStatus.DONE:
                        return run
                    self._overrides(run, skip)
                    return self._walk(run, ctx)
            finally:
                ctx.close_cloud()

    def _audit(self, run: RunState) -> AuditLog:
        return AuditLog(Path(self._store.run_dir(run.run_id)) / "audit.jsonl")

    def _overrides(self, run: RunState, skip: Sequence[str]) -> None:
        """Record every explicit operator override in the state and the audit log."""
        records: list[dict[str, Any]] = []
        for ref in skip:
            step = self.playbook.step(ref)
            st = run.step(step.id)
            if st.state in FINISHED:
                continue
            st.mark(StepStatus.SKIPPED, "skipped by the operator (--skip)")
            records.append({"kind": "skip", "step": step.id, "number": step.number})
        ws = self.options.wait_seconds
        if ws is not None and not any(o["kind"] == "wait" and o.get("seconds") == ws for o in run.overrides):
            for step in self.playbook.steps:
                if self.actions[step.action].wait_override and run.step(step.id).state not in FINISHED:
                    records.append({"kind": "wait", "step": step.id, "seconds": ws})
        if self.options.discard_escrowed_secrets and not any(o["kind"] == "discard-escrowed-secrets" for o in run.overrides):
            records.append({"kind": "discard-escrowed-secrets"})
        for rec in records:
            rec = {**rec, "time": time.time(), "by": "command line"}
            run.overrides.append(rec)
            self._audit(run).append({"event": "override", "run": run.run_id, **rec})
        if records:
            self._store.save(run)

    def _walk(self, run: RunState, ctx: RunContext) -> RunState:
        audit = self._audit(run)
        for step in self.playbook.steps:
            st = run.step(step.id)
            if st.state in FINISHED:
                continue
            action = self.actions[step.action]
            ctx.data = st.data
            self.reporter.step_started(step)
            try:
                plan = action.plan(ctx, step)
            except CleanupError as exc:
                self._stop(run, st, StepStatus.FAILED, exc.message)
                raise
            dangling = self._reconcile(audit, run, step, plan)
            if plan.cannot_plan:
                self._pause(
                    run, st, StepStatus.BLOCKED, Pause(f"step {step.number} ({step.id}) cannot run: {plan.cannot_plan}", PauseKind.BLOCKED), plan.cannot_plan
                )
            self._confirm(run, step, plan)
            st.mark(StepStatus.RUNNING)
            st.notes = plan.notes
            self._store.save(run)
            blocked, waiting, changed = self._apply(audit, run, st, step, action, ctx, plan, dangling)
            if blocked:
                why = "; ".join(blocked)
                self._pause(
                    run, st, StepStatus.BLOCKED, Pause(f"step {step.number} ({step.id}) is blocked: {why}", PauseKind.BLOCKED, waiting_for=tuple(waiting)), why
                )
            try:
                pause = action.finish(ctx, step, plan)
            except CleanupError as exc:
                self._stop(run, st, StepStatus.FAILED, exc.message)
                raise
            if pause is not None:
                if pause.kind not in action.pauses:
                    raise RuntimeError(f"action {action.name} paused with {pause.kind!r}, which it does not declare")
                self._pause(run, st, StepStatus.PAUSED, pause, pause.reason)
            summary = plan.noop_reason if not plan.changes else f"{changed} change(s) applied"
            st.mark(StepStatus.DONE, summary)
            self._store.save(run)
            self.reporter.step_ended(step, StepStatus.DONE, summary or "")
        run.status = RunStatus.DONE
        self._store.save(run)
        audit.append({"event": "run-done", "run": run.run_id})
        return run

    def _confirm(self, run: RunState, step: Step, plan: StepPlan) -> None:
        """A destructive step's changes need a person's yes (or --yes); nobody to ask pauses the run."""
        if not (plan.changes and step.destructive and not self.options.yes):
            return
        answer = self.reporter.confirm(step, plan)
        if answer is None:
            self._store.save(run)
            why = f"step {step.number} ({step.id}) changes the Mac and needs confirmation: run `cleanup resume {run.run_id}` at a terminal, or add --yes"
            raise Paused(why, pause=Pause(why, PauseKind.BLOCKED, waiting_for=("confirmation",)))
        if not answer:
            self._store.save(run)
            raise CleanupError(
                f"stopped before step {step.number} ({step.id}): not confirmed; it changed nothing", hint=f"`cleanup resume {run.run_id}` continues"
            )

    def _apply(
        self, audit: AuditLog, run: RunState, st: StepState, step: Step, action: Action, ctx: RunContext, plan: StepPlan, dangling: dict[str, dict[str, Any]]
    ) -> tuple[list[str], list[str], int]:
        """Apply the planned changes with an audit intent before and a result after each one. Returns what is
        blocked, what would unblock it, and how many changes took effect."""
        blocked, waiting = list(plan.blocked), list(plan.waiting_for)
        changed = 0
        todo: list[tuple[Change, dict[str, Any]]] = []
        once = [c for c in plan.changes if c.details.get("once")]
        # a `once` change that took effect before the step was cut short (killed before its "done" was saved, or
        # paused after it) is not repeated either: its result is in the audit log
        applied = audit.applied_keys(step.id) if once else set()
        for change in plan.changes:
            base = {"run": run.run_id, "step": step.id, "number": step.number, "key": change.key, "kind": change.kind, "target": change.target}
            if change.details.get("once") and change.key in applied:
                audit.append({"event": "result", **base, "result": "done before an interruption (not repeated)", "changed": False})
                continue
            if change.details.get("once") and change.key in dangling:
                # its effect cannot be probed, so a start logged before an interruption is not repeated
                audit.append({"event": "result", **base, "result": "started before an interruption (not repeated)", "changed": True})
                continue
            todo.append((change, base))
        groups = [todo] if action.batched else [[t] for t in todo]
        for group in groups:
            for change, base in group:
                audit.append({"event": "intent", **base, "details": change.details})
            outcomes = self._outcomes(run, st, step, action, ctx, [c for c, _ in group])
            failure: CleanupError | None = None
            for (change, base), outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, ChangeBlocked):
                    audit.append({"event": "result", **base, "result": "blocked", "changed": False, "reason": outcome.message})
                    blocked.append(outcome.message)
                    waiting += [outcome.waiting_for] if outcome.waiting_for else []
                    continue
                if isinstance(outcome, BaseException):
                    failure = self._failure(audit, run, step, base, change.target, outcome, failure)
                    continue
                if not isinstance(outcome, Outcome):
                    raise RuntimeError(f"action {action.name} returned {type(outcome).__name__}, not an Outcome")
                if not outcome.changed and change.key in dangling and action.already_means_applied:
                    # logged as intended before an interruption and now gone: that earlier attempt did it
                    outcome = Outcome.done(f"applied before an interruption (confirmed on resume: {outcome.text})")
                audit.append({"event": "result", **base, "result": outcome.text, "changed": outcome.changed})
                changed += outcome.changed
                self.reporter.change_applied(step, change, outcome.text)
            if failure is not None:
                self._stop(run, st, StepStatus.FAILED, failure.message)
                raise failure
        return blocked, list(dict.fromkeys(waiting)), changed

    def _outcomes(self, run: RunState, st: StepState, step: Step, action: Action, ctx: RunContext, changes: list[Change]) -> list[Outcome | Exception]:
        if action.batched:
            return action.apply_many(ctx, step, changes)
        try:
            return [action.apply(ctx, step, changes[0])]
        except (CleanupError, OSError) as exc:
            if isinstance(exc, CleanupError) and exc.outcome_unknown:
                # the Mac may or may not have done it (connection lost mid-command): leave the intent
                # open, as a crash would, so resume probes it again and never repeats a `once` command
                self._stop(run, st, StepStatus.FAILED, exc.message)
                raise
            return [exc]

    @staticmethod
    def _failure(
        audit: AuditLog, run: RunState, step: Step, base: dict[str, Any], target: str, exc: BaseException, failure: CleanupError | None
    ) -> CleanupError:
        """Record a failed change; the step fails with its first failure (a safety refusal as it is)."""
        msg = exc.message if isinstance(exc, CleanupError) else f"{target}: {exc}"
        if not (isinstance(exc, CleanupError) and exc.outcome_unknown):  # else the intent stays open for resume
            audit.append({"event": "result", **base, "result": "failed", "changed": False, "reason": msg})
        if failure is not None:
            return failure
        if isinstance(exc, SafetyRefusal):
            return exc
        return StepFailed(f"step {step.number} ({step.id}) failed: {msg}", hint=f"fix the cause, then `cleanup resume {run.run_id}`")

    def _pause(self, run: RunState, st: StepState, state: StepStatus, pause: Pause, why: str) -> None:
        self._stop(run, st, state, why)
        raise Paused(pause.reason, pause=pause)

    def _stop(self, run: RunState, st: StepState, state: StepStatus, why: str) -> None:
        st.mark(state, why)
        run.status = RunStatus.FAILED if state == StepStatus.FAILED else RunStatus.PAUSED
        self._store.save(run)
        step = next(s for s in self.playbook.steps if s.id == st.id)
        self.reporter.step_ended(step, state, why)

    @staticmethod
    def _reconcile(audit: AuditLog, run: RunState, step: Step, plan: StepPlan) -> dict[str, dict[str, Any]]:
        """Close intents a crash left open: a change no longer planned was applied before the crash."""
        planned = {c.key for c in plan.changes}
        dangling = audit.dangling_intents(step.id)
        for key, rec in dangling.items():
            if key not in planned:
                audit.append(
                    {
                        "event": "result",
                        "run": run.run_id,
                        "step": step.id,
                        "number": step.number,
                        "key": key,
                        "kind": rec.get("kind"),
                        "target": rec.get("target"),
                        "result": "applied before an interruption (confirmed on resume)",
                        "changed": True,
                    }
                )
        return dangling
