"""Step 11's 30-minute wait, durable: stored as a "not before" time that outlives the process."""

from __future__ import annotations

import time

from cleanup.engine.action import Action, ActsOn, Param, Pause, PauseKind, positive_at_most, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan


def clock_text(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


@register
class Wait(Action):
    name = "wait.settle"
    summary = "Wait (durably) before the next step, e.g. 30 minutes for Intune and Entra to settle"
    acts_on = ActsOn.OPERATOR
    pauses = frozenset({PauseKind.WAIT})
    wait_override = True
    params = {"minutes": Param("float", required=True, check=positive_at_most(7 * 24 * 60)), "reason": Param("str", default="")}

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
            return Pause(f"waiting until {clock_text(not_before)}", kind=PauseKind.WAIT, not_before=not_before)
        ctx.wait_ui(not_before, step.title)
        return None
