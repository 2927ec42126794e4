"""The run's checkpoint: what each step has done, the facts recorded before anything was destroyed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from cleanup.errors import StateError

FORMAT = "cleanup-run/1"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # started; an interruption here is probed and planned again on resume
    DONE = "done"
    SKIPPED = "skipped"  # by the operator (--skip), recorded
    BLOCKED = "blocked"  # part of it cannot be done now (a locked keychain); resume retries
    PAUSED = "paused"  # applied, and the run stops here on purpose (restart, wait)
    FAILED = "failed"
    EXCLUDED = "excluded"  # outside the run's selection (--only, --from, --to)


class RunStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    DONE = "done"
    ABANDONED = "abandoned"  # given up on purpose (`cleanup abandon`)


STEP_STATES = tuple(StepStatus)
FINISHED = (StepStatus.DONE, StepStatus.SKIPPED, StepStatus.EXCLUDED)
#: run statuses a new run of the same Mac must not pass over (it would start again without their facts)
UNFINISHED = (RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.FAILED)


@dataclass
class StepState:
    id: str
    state: StepStatus = StepStatus.PENDING
    started: float | None = None
    ended: float | None = None
    attempts: int = 0
    outcome: str = ""
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # the action's durable data (boot time, not-before time)

    def mark(self, state: StepStatus, outcome: str | None = None) -> None:
        self.state = StepStatus(state)
        if outcome is not None:
            self.outcome = outcome
        if state == StepStatus.RUNNING:
            self.started = time.time()
            self.ended = None
            self.attempts += 1
        elif state != StepStatus.PENDING:
            self.ended = time.time()

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class RunState:
    run_id: str
    playbook: str
    playbook_sha256: str
    host: str
    serial: str
    computer_name: str
    created: float
    updated: float
    options: dict[str, Any]
    facts: dict[str, Any]
    steps: list[StepState]
    overrides: list[dict[str, Any]] = field(default_factory=list)
    status: RunStatus = RunStatus.RUNNING
    format: str = FORMAT

    def step(self, step_id: str) -> StepState:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise StateError(f"run {self.run_id} has no step {step_id!r}")

    def to_json(self) -> dict[str, Any]:
        # a shallow view: json.dumps copies nothing, and asdict's deep copy of the facts cost more than the write
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["steps"] = [s.to_json() for s in self.steps]
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> RunState:
        from cleanup.engine.statecheck import check_run_state  # the whole file, before any of it is used

        check_run_state(data, where)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateError(f"{where} is not a cleanup run state (format {FORMAT!r} expected)")
        try:
            steps = [StepState(**s) for s in data["steps"]]
            fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "steps" and k in data}
            run = cls(steps=steps, **fields)
        except (KeyError, TypeError) as exc:
            raise StateError(f"{where} is incomplete or damaged ({exc})") from None
        for s in run.steps:
            if s.state not in STEP_STATES:
                raise StateError(f"{where}: step {s.id} has unknown state {s.state!r}")
            s.state = StepStatus(s.state)
        if run.status not in tuple(RunStatus):
            raise StateError(f"{where}: unknown run status {run.status!r}")
        run.status = RunStatus(run.status)
        if not isinstance(run.serial, str) or not isinstance(run.facts, dict):
            raise StateError(f"{where} is damaged (serial/facts)")
        return run
