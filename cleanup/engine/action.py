"""What every action is, and the registry the engine finds actions in.

An action class declares its nature as class attributes — where it acts, whether it is destructive, whether it
only reads, the cloud permissions it needs, whether it reads the Mac's cloud records, the pause kinds it may
return. The loader refuses a playbook step that contradicts them (a step may add ``destructive``, never drop it),
and the runner refuses an action that returns a pause kind it did not declare. Concrete actions live in
``cleanup.actions`` and register themselves with :func:`register`; the engine never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from cleanup.errors import StepFailed

if TYPE_CHECKING:
    from cleanup.engine.context import RunContext
    from cleanup.engine.model import Step
    from cleanup.engine.plan import Change, StepPlan
    from cleanup.hosts.base import CommandResult


class ActsOn(StrEnum):
    DEVICE = "device"  # on the Mac, through its host
    CLOUD = "cloud"  # on Jamf Pro, Entra or Intune records
    OPERATOR = "operator"  # on nobody: a wait, a decision


class PauseKind(StrEnum):
    RESTART = "restart"  # the Mac is restarting; continue once its boot time changed
    WAIT = "wait"  # a wait with a known end (``not_before``)
    POLL = "poll"  # something outside is not there yet (a new registration); look again later
    BLOCKED = "blocked"  # needs a person or an event (a login, an approval, an MDM check-in)


@dataclass(frozen=True)
class Param:
    """One parameter an action accepts. ``type`` is str | int | float | bool | str_list | table_list."""

    type: str
    required: bool = False
    default: Any = None
    help: str = ""
    item: dict[str, Param] = field(default_factory=dict)  # for table_list: the keys of each table
    check: Callable[[Any], str | None] | None = None  # extra validation; returns an error text or None


@dataclass(frozen=True)
class Pause:
    """Returned by ``finish`` when the step is applied but the run must stop; carried by ``Paused.pause``."""

    reason: str
    kind: PauseKind
    not_before: float | None = None  # a WAIT's end (epoch seconds)
    waiting_for: tuple[str, ...] = ()  # what would end a BLOCKED pause, e.g. "login:bob"


@dataclass(frozen=True)
class Outcome:
    """What applying one change did: ``changed`` is False when the object was already as wanted."""

    changed: bool
    text: str

    @classmethod
    def done(cls, text: str) -> Outcome:
        return cls(True, text)

    @classmethod
    def unchanged(cls, text: str) -> Outcome:
        return cls(False, text)


def positive_at_most(high: float) -> Callable[[Any], str | None]:
    """A parameter check: more than 0 and at most ``high`` (a wait of 1e308 minutes is not a wait)."""

    def check(value: Any) -> str | None:
        return None if 0 < value <= high else f"must be more than 0 and at most {high:g}"

    return check


def command_failed(argv: list[str], res: CommandResult) -> StepFailed:
    """The error for a device command that did not succeed: the command, its status, its last words."""
    detail = (res.stderr or res.stdout).strip()[:200]
    return StepFailed(f"`{' '.join(argv)}` failed (exit {res.returncode}): {detail}")


class Action:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    acts_on: ClassVar[ActsOn] = ActsOn.DEVICE
    #: changes something that cannot simply be put back: a person confirms the plan first (or --yes)
    destructive: ClassVar[bool] = False
    #: gathers facts or checks only; runs before a run is recorded, and in every selection of its side
    read_only: ClassVar[bool] = False
    #: reads the Mac's Jamf Pro / Entra / Intune records that step 0 gathers
    reads_cloud: ClassVar[bool] = False
    #: permissions needed to plan (and for a dry-run), and in addition to apply: "jamf:…" / "graph:…"
    needs_read: ClassVar[tuple[str, ...]] = ()
    needs_write: ClassVar[tuple[str, ...]] = ()
    #: uses the cloud records when a connection is configured, but needs none (step 2's Remove MDM Profile command)
    cloud_optional: ClassVar[bool] = False
    #: the pause kinds ``finish`` may return
    pauses: ClassVar[frozenset[PauseKind]] = frozenset()
    #: its wait is what `--wait-seconds` shortens (the override is recorded against this step)
    wait_override: ClassVar[bool] = False
    #: True when "unchanged" for a change whose intent an interruption left open means that earlier attempt did
    #: it (a recorded cloud object that is gone now); False where "unchanged" may have been true all along
    already_means_applied: ClassVar[bool] = False
    #: True when ``apply_many`` is worth calling (the runner otherwise applies one change at a time)
    batched: ClassVar[bool] = False

    def permissions(self, ctx: RunContext, write: bool) -> tuple[str, ...]:
        """The permissions this run needs for the step: what it declares (``needs_read``, and ``needs_write`` when
        it changes something). An action may need less once step 0's facts show what it will act on."""
        return self.needs_read + (self.needs_write if write else ())

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        """Carry out one planned change; return what happened, raise on failure."""
        raise NotImplementedError(f"{self.name} plans no changes")

    def apply_many(self, ctx: RunContext, step: Step, changes: list[Change]) -> list[Outcome | Exception]:
        """Carry out several changes at once (one outcome or exception per change, in order).

        Actions that talk to a service with a batch endpoint override this; the runner logs every intent
        before the call and every result after it.
        """
        out: list[Outcome | Exception] = []
        for change in changes:
            try:
                out.append(self.apply(ctx, step, change))
            except Exception as exc:
                out.append(exc)
        return out

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        """After every change applied: check the outcome; return a Pause to stop the run here."""
        return None


_REGISTRY: dict[str, Action] = {}


def register(cls: type[Action]) -> type[Action]:
    """Class decorator: make an action available to playbooks under its ``name``."""
    problem = _declaration_problem(cls)
    if problem:
        raise TypeError(f"action {cls.__name__}: {problem}")
    other = _REGISTRY.get(cls.name)
    if other is not None and type(other) is not cls:
        raise TypeError(f"action name {cls.name!r} is taken by {type(other).__name__}")
    _REGISTRY[cls.name] = cls()
    return cls


def _declaration_problem(cls: type[Action]) -> str | None:
    if not cls.name or not cls.summary:
        return "needs a name and a summary"
    if cls.read_only and (cls.destructive or cls.pauses):
        return "a read-only action is neither destructive nor pausing"
    if cls.acts_on != ActsOn.CLOUD and cls.needs_write:
        return "only a cloud action needs write permissions"
    return None


def included_actions(ctx: RunContext) -> list[Action]:
    """The actions of the steps this run includes (each once)."""
    return [_REGISTRY[name] for name in sorted(ctx.included_actions())]


def registry() -> dict[str, Action]:
    """Every registered action by name (the CLI fills it by importing ``cleanup.actions``)."""
    if not _REGISTRY:
        raise RuntimeError("no actions are registered: import cleanup.actions first")
    return _REGISTRY
