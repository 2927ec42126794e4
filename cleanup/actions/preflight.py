"""Step 1 ("open Terminal on the Mac") as a preflight: the right Mac, a Mac at all, root for a real run."""

from __future__ import annotations

from cleanup.engine.action import Action, ActsOn, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import SafetyRefusal
from cleanup.hosts import probes


@register
class Preflight(Action):
    name = "preflight.check"
    summary = "Check the target: a Mac, the expected serial, running as root for a real run"
    acts_on = ActsOn.DEVICE
    read_only = True
    params = {}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        host = ctx.host
        serial = ctx.memo("serial", lambda: probes.serial_number(host))
        recorded = ctx.facts.get("serial")
        if recorded and recorded != serial:
            raise SafetyRefusal(f"this run belongs to Mac {recorded}, but {host.spec} is Mac {serial}; refusing")
        if ctx.options.serial and ctx.options.serial != serial:
            raise SafetyRefusal(f"--serial {ctx.options.serial} was given, but {host.spec} is Mac {serial}; refusing")
        notes = []
        if not ctx.options.dry_run:
            probes.require_root(host)
        elif (uid := probes.effective_uid(host)) != 0:
            notes.append(f"running as uid {uid}, not root: items only root can read may be missing from this plan")
        return StepPlan(noop_reason=f"target is Mac {serial} ({ctx.facts.get('computer_name', '?')})", notes=notes)
