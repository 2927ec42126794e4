"""A `once` change (the registration policy, which creates a new Entra device each time it runs) never runs twice in
one run: not after a crash between its intent and its result, nor after a crash or pause between its result and
the step's "done" being saved. One that failed is tried again."""

from __future__ import annotations

import pytest

from cleanup.engine.action import Action, ActsOn, Outcome, Pause, PauseKind
from cleanup.engine.plan import Change, StepPlan
from cleanup.engine.runner import Selection
from cleanup.errors import CleanupError, Paused
from tests.support.oneaction import _one_step_run, _registered


def _action(name: str, calls: list[str], *, fail_first: bool = False):
    """One `once` change and one ordinary change; the step pauses after its changes the first time it finishes."""

    class OnceThenPause(Action):
        summary = "a `once` command, then a pause the first time"
        acts_on = ActsOn.OPERATOR
        pauses = frozenset({PauseKind.WAIT})

        def plan(self, ctx, step):
            return StepPlan(
                changes=[
                    Change("command:register", "run-command", "start the registration", {"argv": ["true"], "once": True}),
                    Change("file:cache", "write-file", "a cache file"),
                ]
            )

        def apply(self, ctx, step, change):
            calls.append(change.key)
            if fail_first and change.key == "command:register" and calls.count(change.key) == 1:
                raise CleanupError("the policy did not start")
            return Outcome.done("started")

        def finish(self, ctx, step, plan):
            if len([c for c in calls if c == "file:cache"]) == 1:
                return Pause("waiting for the user", PauseKind.WAIT)
            return None

    OnceThenPause.name = name
    return OnceThenPause


def test_a_once_change_done_before_the_step_was_cut_short_is_not_repeated_on_resume(make_mac, store):
    calls: list[str] = []
    cls = _action("test.once-pause", calls)
    with _registered(cls):
        runner = _one_step_run(make_mac, store, cls)
        with pytest.raises(Paused):
            runner.start(Selection())
        run = runner.resume(runner.run_id)
    assert calls == ["command:register", "file:cache", "file:cache"]
    results = [(r["key"], r["result"]) for r in runner._audit(run).records() if r.get("event") == "result"]
    assert ("command:register", "done before an interruption (not repeated)") in results


def test_a_once_change_that_failed_is_tried_again(make_mac, store):
    calls: list[str] = []
    cls = _action("test.once-fail", calls, fail_first=True)
    with _registered(cls):
        runner = _one_step_run(make_mac, store, cls)
        with pytest.raises(CleanupError):
            runner.start(Selection())
        with pytest.raises(Paused):
            runner.resume(runner.run_id)
        runner.resume(runner.run_id)
    assert calls.count("command:register") == 2
