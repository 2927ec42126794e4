"""The playbook model: an ordered list of steps, each naming an action and carrying its parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WHERE = ("device", "cloud", "operator")


@dataclass(frozen=True)
class Step:
    id: str
    number: int  # the article's step number (technicians quote it); several steps may share one
    title: str
    action: str
    acts_on: str  # device | cloud | operator
    destructive: bool
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Playbook:
    name: str
    title: str
    description: str
    steps: tuple[Step, ...]
    source: str  # file path it was read from
    text: str  # the TOML text, stored with a run so resume uses exactly what the run started with
    #: the ``[notify]`` table: what the person at the Mac is told, and how often the restart may be deferred
    notify: dict[str, Any] = field(default_factory=dict)

    def step(self, ref: str) -> Step:
        """A step by id, or by article number (the first step carrying that number)."""
        for s in self.steps:
            if s.id == ref:
                return s
        if ref.isdigit():
            for s in self.steps:
                if s.number == int(ref):
                    return s
        from cleanup.errors import UsageError

        known = ", ".join(f"{s.number}/{s.id}" for s in self.steps)
        raise UsageError(f"playbook {self.name} has no step {ref!r}", hint=f"steps: {known}")

    def index(self, ref: str, *, last: bool = False) -> int:
        """Index of a step reference; with ``last`` an article number selects its last step."""
        first = self.step(ref)
        idx = self.steps.index(first)
        if last and ref.isdigit():
            while idx + 1 < len(self.steps) and self.steps[idx + 1].number == first.number:
                idx += 1
        return idx
