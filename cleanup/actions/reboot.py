"""Step 9: restart the Mac and know afterwards that it happened (``kern.boottime`` changed).

On the Mac itself (``--host local``) a one-shot LaunchDaemon runs ``cleanup resume`` at boot, unless
``--no-autoresume``; the resumed run removes it again.
"""

from __future__ import annotations

import plistlib
import sys

from cleanup.actions import probes
from cleanup.actions.base import Action, Pause, Param, command_failed
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, StepPlan

SHUTDOWN = "/sbin/shutdown"
DAEMON_LABEL = "com.cleanup.resume"
DAEMON_PATH = f"/Library/LaunchDaemons/{DAEMON_LABEL}.plist"


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


class Restart(Action):
    name = "reboot.restart"
    summary = "Restart the Mac; resume continues once the boot time has changed"
    params = {"command": Param("str_list", default=[SHUTDOWN, "-r", "now"])}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        now = probes.memo(ctx, "boot_time", lambda: probes.boot_time(ctx.host))
        before = ctx.data.get("boot_before")
        if before is not None and now != before:
            plan = StepPlan(noop_reason=f"the Mac restarted (boot time {before} -> {now})")
            if ctx.host.lstat(DAEMON_PATH) is not None:
                plan.changes.append(Change(f"path:{DAEMON_PATH}", "remove-path", f"{DAEMON_PATH} (one-shot resume daemon)", {"path": DAEMON_PATH}))
            return plan
        ctx.data["boot_before"] = now
        plan = StepPlan()
        if ctx.host.spec == "local" and ctx.options.autoresume:
            plan.changes.append(
                Change(f"path:{DAEMON_PATH}", "write-file", f"{DAEMON_PATH} (runs `cleanup resume` once at boot)", {"path": DAEMON_PATH})
            )
        argv = list(step.params["command"])
        plan.changes.append(Change("restart", "restart", " ".join(argv), {"argv": argv, "boot_time_before": now}))
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> str:
        if change.kind == "write-file":
            ctx.host.write_file(change.details["path"], resume_daemon_plist(ctx), 0o644)
            return "installed"
        if change.kind == "remove-path":
            ctx.host.remove(change.details["path"])
            return "removed"
        res = ctx.host.run(change.details["argv"])
        if not res.ok:
            raise command_failed(change.details["argv"], res)
        return "restart requested"

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        if any(c.kind == "restart" for c in plan.changes):
            how = "the resume daemon continues at boot" if ctx.host.spec == "local" and ctx.options.autoresume else "then run `cleanup resume`"
            return Pause(f"the Mac is restarting; {how}", kind="restart")
        return None
