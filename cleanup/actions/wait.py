"""Step 11's 30-minute wait, durable: stored as a "not before" time that outlives the process."""

from __future__ import annotations

import time

from cleanup.actions.base import Action, Param, Pause
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan


def _positive(v) -> str | None:
    return None if v > 0 else "must be more than 0"


def clock_text(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


class Wait(Action):
    name = "wait.settle"
    summary = "Wait (durably) before the next step, e.g. 30 minutes for Intune and Entra to settle"
    params = {"minutes": Param("float", required=True, check=_positive), "reason": Param("str", default="")}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        now = ctx.clock()
        started = ctx.data.setdefault("started_at", now)
        seconds = ctx.data.setdefault("seconds", step.params["minutes"] * 60)
        if ctx.options.wait_seconds is not None:  # explicit operator override; the runner records it
            seconds = ctx.data["seconds"] = ctx.options.wait_seconds
        not_before = ctx.data["not_before"] = started + seconds
        remaining = not_before - now
        if remaining <= 0:
            return StepPlan(noop_reason=f"waited until {clock_text(not_before)}")
        if ctx.options.dry_run:
            return StepPlan(noop_reason=f"would wait {seconds / 60:g} minutes here ({step.params['reason'] or 'settle'})")
        return StepPlan(notes=[f"waiting until {clock_text(not_before)} ({remaining / 60:.1f} min)"])

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        not_before = ctx.data.get("not_before")
        if not_before is None:
            return None
        remaining = not_before - ctx.clock()
        if remaining <= 0:
            return None
        if ctx.options.no_wait or ctx.wait_ui is None:
            return Pause(f"waiting until {clock_text(not_before)}", kind="wait")
        ctx.wait_ui(not_before, step.title)
        return None
