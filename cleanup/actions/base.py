"""What every action is: parameters it accepts, a read-only ``plan``, and ``apply`` for one planned change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from cleanup.engine.plan import Change, StepPlan
from cleanup.errors import StepFailed

if TYPE_CHECKING:
    from cleanup.engine.context import RunContext
    from cleanup.engine.model import Step


@dataclass(frozen=True)
class Param:
    """One parameter an action accepts. ``type`` is str | int | float | bool | str_list | table_list."""

    type: str
    required: bool = False
    default: Any = None
    help: str = ""
    item: dict[str, "Param"] = field(default_factory=dict)  # for table_list: the keys of each table
    check: Callable[[Any], str | None] | None = None  # extra validation; returns an error text or None


def command_failed(argv, res) -> StepFailed:
    """The error for a device command that did not succeed: the command, its status, its last words."""
    detail = (res.stderr or res.stdout).strip()[:200]
    return StepFailed(f"`{' '.join(argv)}` failed (exit {res.returncode}): {detail}")


@dataclass
class Pause:
    """Returned by ``finish`` when the step is applied but the run must stop (restart, wait, approval)."""

    reason: str
    kind: str = "paused"  # restart | wait | blocked


class Action:
    name: str = ""
    summary: str = ""
    params: dict[str, Param] = {}
    #: read-only actions gather facts or check; they run before a run is recorded
    read_only: bool = False

    def plan(self, ctx: "RunContext", step: "Step") -> StepPlan:  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, ctx: "RunContext", step: "Step", change: Change) -> str:
        """Carry out one planned change; return what happened, raise on failure."""
        raise NotImplementedError(f"{self.name} plans no changes")

    def apply_many(self, ctx: "RunContext", step: "Step", changes: list[Change]) -> list[str | Exception]:
        """Carry out several changes at once (one outcome or exception per change, in order).

        Actions that talk to a service with a batch endpoint override this; the runner logs every intent
        before the call and every result after it.
        """
        out: list[str | Exception] = []
        for change in changes:
            try:
                out.append(self.apply(ctx, step, change))
            except Exception as exc:  # noqa: BLE001 - handed back to the runner, which classifies it
                out.append(exc)
        return out

    #: True when "already ..." for a change whose intent an interruption left open means that earlier attempt
    #: did it (a recorded cloud object that is gone now); False where "already" may have been true all along
    already_means_applied: bool = False

    #: True when ``apply_many`` is worth calling (the runner otherwise applies one change at a time)
    batched: bool = False

    def finish(self, ctx: "RunContext", step: "Step", plan: StepPlan) -> Pause | None:
        """After every change applied: check the outcome; return a Pause to stop the run here."""
        return None
