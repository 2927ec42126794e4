"""Step 9: restart the Mac and know afterwards that it happened (``kern.boottime`` changed).

On the Mac itself (``--host local``) a one-shot LaunchDaemon runs ``cleanup resume`` at boot, unless
``--no-autoresume``; the resumed run removes it again. Over SSH the run waits (bounded by ``reconnect_minutes``)
for the Mac to go down and come back with a new boot time, then continues in the same process.

Right before the restart the console user is told, with a countdown (docs/notifications.md). The playbook's or the
operator's ``deferrals`` N lets the user defer it N times: a deferral pauses the run (not a failure) and the next
resume asks again; the count is kept in the step's data (``deferrals_used``).
"""

from __future__ import annotations

import plistlib
import time

from cleanup.actions import notices
from cleanup.engine.action import Action, ActsOn, Outcome, Param, Pause, PauseKind, command_failed, positive_at_most, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import ConnectionLost, HostError, StateError
from cleanup.hosts import notify, probes
from cleanup.selfexec import cleanup_argv

SHUTDOWN = "/sbin/shutdown"
DAEMON_LABEL = "com.cleanup.resume"
DAEMON_PATH = f"/Library/LaunchDaemons/{DAEMON_LABEL}.plist"
FIRST_POLL_DELAY = 0.5  # seconds between boot-time polls over SSH, growing by half up to MAX_POLL_DELAY
MAX_POLL_DELAY = 15.0


#: the one command this action runs: a playbook cannot change it
RESTART_ARGV = (SHUTDOWN, "-r", "now")


def resume_daemon_plist(ctx: RunContext) -> bytes:
    args = [*cleanup_argv(), "resume", ctx.run_id, "--state-dir", ctx.state_dir, "--no-autoresume"]
    if ctx.options.yes:
        args.append("--yes")
    return plistlib.dumps(
        {
            "Label": DAEMON_LABEL,
            "ProgramArguments": args,
            "RunAtLoad": True,
            "LaunchOnlyOnce": True,
            "StandardOutPath": "/var/log/cleanup-resume.log",
            "StandardErrorPath": "/var/log/cleanup-resume.log",
        }
    )


@register
class Restart(Action):
    name = "reboot.restart"
    summary = "Restart the Mac; resume continues once the boot time has changed"
    acts_on = ActsOn.DEVICE
    destructive = True
    pauses = frozenset({PauseKind.RESTART, PauseKind.BLOCKED})  # blocked: the user deferred the restart
    params = {
        "reconnect_minutes": Param("float", default=15, check=positive_at_most(24 * 60), help="over SSH: how long to wait for the Mac to come back"),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        now = ctx.memo("boot_time", lambda: probes.boot_time(ctx.host))
        before = ctx.data.get("boot_before")
        if before is not None and now != before:
            plan = StepPlan(noop_reason=f"the Mac restarted (boot time {before} -> {now})")
            if ctx.host.lstat(DAEMON_PATH) is not None:
                plan.changes.append(Change(f"path:{DAEMON_PATH}", ChangeKind.REMOVE_PATH, f"{DAEMON_PATH} (one-shot resume daemon)", {"path": DAEMON_PATH}))
            return plan
        ctx.data["boot_before"] = now
        ctx.data.pop("deferred_now", None)  # a deferral an interruption left unreported: this attempt asks again
        notices.record(ctx)
        plan = StepPlan(notes=[self._note(ctx)])
        if ctx.host.this_mac and ctx.options.autoresume:
            plan.changes.append(
                Change(f"path:{DAEMON_PATH}", ChangeKind.WRITE_FILE, f"{DAEMON_PATH} (runs `cleanup resume` once at boot)", {"path": DAEMON_PATH})
            )
        argv = list(RESTART_ARGV)
        plan.changes.append(Change("restart", ChangeKind.RESTART, " ".join(argv), {"argv": argv, "boot_time_before": now}))
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        if change.kind == "write-file":
            ctx.host.write_file(change.details["path"], resume_daemon_plist(ctx), 0o644)
            return Outcome.done("installed")
        if change.kind == "remove-path":
            ctx.host.remove(change.details["path"])
            return Outcome.done("removed")
        allowed, used = notices.settings(ctx).deferrals, _deferrals_used(ctx)
        told = notices.tell(ctx, "restart", (notify.RESTART_NOW, notify.DEFER) if used < allowed else (notify.RESTART_NOW,), notify.RESTART_SECONDS)
        if told is not None and told.answer == notify.DEFER:
            ctx.data["deferrals_used"] = used + 1
            ctx.data["deferred_now"] = told.user
            return Outcome.unchanged(notices.with_told(f"not restarted: deferred by the user ({used + 1} of {allowed}); resume asks again", told))
        try:
            res = ctx.host.run(change.details["argv"])
        except HostError as exc:
            if isinstance(exc, ConnectionLost):  # a Mac going down may close the channel before it answers
                return Outcome.done(notices.with_told("restart requested (the connection closed as the Mac went down)", told))
            raise
        if not res.ok:
            raise command_failed(change.details["argv"], res)
        return Outcome.done(notices.with_told("restart requested", told))

    @staticmethod
    def _note(ctx: RunContext) -> str:
        what = f"before the restart, with a {notify.RESTART_SECONDS // 60}-minute countdown"
        left = notices.settings(ctx).deferrals - _deferrals_used(ctx)
        if ctx.options.notify.mode != "none" and left > 0:
            what += f"; they may defer it {left} more time(s), each deferral pausing the run until it is resumed"
        return notices.plan_note(ctx, what)

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        who = ctx.data.pop("deferred_now", None)
        if who is not None:
            used = _deferrals_used(ctx)
            return Pause(
                f"step {step.number} ({step.id}): the restart was deferred by the user ({used} of {notices.settings(ctx).deferrals}); "
                f"resume asks again: `cleanup resume {ctx.run_id}`, or the next policy run",
                kind=PauseKind.BLOCKED,
                waiting_for=(f"deferral:{who}",),
            )
        if any(c.kind == "restart" for c in plan.changes):
            if ctx.host.reconnects_after_restart and not ctx.options.no_wait:
                return self._await_return(ctx, step)
            how = "the resume daemon continues at boot" if ctx.host.this_mac and ctx.options.autoresume else "then run `cleanup resume`"
            return Pause(f"the Mac is restarting; {how}", kind=PauseKind.RESTART)
        return None

    def _await_return(self, ctx: RunContext, step: Step) -> Pause | None:
        """Poll the boot time through the Mac going down and coming back; None once it changed."""
        before = ctx.data.get("boot_before")
        minutes = step.params["reconnect_minutes"]
        deadline = time.monotonic() + minutes * 60
        delay = FIRST_POLL_DELAY
        last = ""
        while True:
            try:
                now = ctx.host.boot_time()
            except HostError as exc:
                if not exc.transient:
                    raise  # a changed host key, a refused login: waiting will not help
                last = exc.message
            else:
                if now != before:
                    ctx.data["boot_after"] = now
                    return None
                last = "it still reports the boot time from before the restart"
            left = deadline - time.monotonic()
            if left <= 0:
                return Pause(
                    f"the Mac has not come back within {minutes:g} min of the restart ({last}); `cleanup resume {ctx.run_id}` continues once it is up",
                    kind=PauseKind.RESTART,
                )
            time.sleep(min(delay, left))
            delay = min(delay * 1.5, MAX_POLL_DELAY)


def _deferrals_used(ctx: RunContext) -> int:
    used = ctx.data.get("deferrals_used", 0)
    if not isinstance(used, int) or isinstance(used, bool) or used < 0:
        raise StateError(f"run {ctx.run_id}: the restart step's deferrals_used is {used!r}, not a count; nothing was run")
    return used
