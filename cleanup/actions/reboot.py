"""Step 9: restart the Mac and know afterwards that it happened (``kern.boottime`` changed).

On the Mac itself (``--host local``) a one-shot LaunchDaemon runs ``cleanup resume`` at boot, unless
``--no-autoresume``; the resumed run removes it again. Over SSH the run waits (bounded by ``reconnect_minutes``)
for the Mac to go down and come back with a new boot time, then continues in the same process.
"""

from __future__ import annotations

import plistlib
import sys
import time

from cleanup.engine.action import Action, ActsOn, Outcome, Param, Pause, PauseKind, command_failed, positive_at_most, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import ConnectionLost, HostError
from cleanup.hosts import probes

SHUTDOWN = "/sbin/shutdown"
DAEMON_LABEL = "com.cleanup.resume"
DAEMON_PATH = f"/Library/LaunchDaemons/{DAEMON_LABEL}.plist"
FIRST_POLL_DELAY = 0.5  # seconds between boot-time polls over SSH, growing by half up to MAX_POLL_DELAY
MAX_POLL_DELAY = 15.0


#: the one command this action runs: a playbook cannot change it
RESTART_ARGV = (SHUTDOWN, "-r", "now")


def resume_daemon_plist(ctx: RunContext) -> bytes:
    args = [sys.executable, "-m", "cleanup", "resume", ctx.run_id, "--state-dir", ctx.state_dir, "--no-autoresume"]
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
    pauses = frozenset({PauseKind.RESTART})
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
        plan = StepPlan()
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
        try:
            res = ctx.host.run(change.details["argv"])
        except HostError as exc:
            if isinstance(exc, ConnectionLost):  # a Mac going down may close the channel before it answers
                return Outcome.done("restart requested (the connection closed as the Mac went down)")
            raise
        if not res.ok:
            raise command_failed(change.details["argv"], res)
        return Outcome.done("restart requested")

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
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
