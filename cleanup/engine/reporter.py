"""How the runner talks to a person (or to nobody): the CLI subclasses this; the base is silent."""

from __future__ import annotations

from cleanup.engine.model import Step
from cleanup.engine.plan import Change, StepPlan


class Reporter:
    def step_started(self, step: Step) -> None:
        pass

    def step_ended(self, step: Step, state: str, summary: str) -> None:
        pass

    def change_applied(self, step: Step, change: Change, outcome: str) -> None:
        pass

    def confirm(self, step: Step, plan: StepPlan) -> bool | None:
        """True/False from a person; None when nobody can answer (no terminal)."""
        return None

    def wait_until(self, not_before: float, title: str) -> None:
        import time

        while (left := not_before - time.time()) > 0:
            time.sleep(min(left, 5))
