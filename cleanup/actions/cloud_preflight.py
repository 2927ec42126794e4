"""Before the first destructive step: the credentials may do everything the remaining cloud steps need, and
every cloud delete has exactly one candidate (or the operator's explicit choice). A dry-run needs only read."""

from __future__ import annotations

from cleanup.actions import escrowed
from cleanup.actions.cloud_delete import CloudDelete
from cleanup.actions.jamf_inventory import DeleteJamfRecord
from cleanup.actions.recorded import cloud_facts
from cleanup.engine.action import Action, ActsOn, included_actions, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import Ambiguous, PermissionMissing


def needs_for(ctx: RunContext, actions: list[Action], dry_run: bool) -> list[str]:
    """The permissions the actions need for this run: to read, and unless a dry-run, to change."""
    needs: list[str] = []
    for action in sorted(actions, key=lambda a: a.name):
        needs += action.permissions(ctx, write=not dry_run)
    return list(dict.fromkeys(needs))


def _checked(ctx: RunContext, needs: list[str]) -> list:
    """permissions.check of ``needs``; a batch checks its credentials once per set of needs."""
    from cleanup.clients.permissions import check

    memo = getattr(ctx.cloud, "permission_memo", None)
    if memo is None:
        return check(ctx.cloud, needs)
    with ctx.cloud.permission_lock:
        key = tuple(needs)
        if key not in memo:
            memo[key] = check(ctx.cloud, needs)
        return list(memo[key])


@register
class CloudPreflight(Action):
    name = "cloud.preflight"
    summary = "Check the Jamf Pro and Graph permissions the remaining steps need, and that every delete has one target"
    acts_on = ActsOn.CLOUD
    reads_cloud = True
    read_only = True
    params = {}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        actions = [a for a in included_actions(ctx) if a.needs_read or a.needs_write]
        if not actions or (all(a.cloud_optional for a in actions) and ctx.cloud_opener is None):
            return StepPlan(noop_reason="no cloud step in this run")
        if ctx.cloud_opener is None and ctx.options.dry_run:
            return StepPlan(noop_reason="no cloud connection configured")
        needs = needs_for(ctx, actions, ctx.options.dry_run)
        missing = _checked(ctx, needs)
        known = [m for m in missing if m.known]
        if known:
            names = ", ".join(f"{m.service} {m.permission_name}" for m in known)
            raise PermissionMissing(
                f"the credentials lack {names}: nothing was changed",
                hint="grant the permission (and admin consent in Entra), then run again; `cleanup creds test` shows what they may do",
            )
        notes = [str(m) for m in missing if not m.known]
        if not ctx.options.dry_run:
            facts = cloud_facts(ctx)
            for action in sorted(actions, key=lambda a: a.name):
                if isinstance(action, CloudDelete):
                    action.targets(ctx, facts)  # raises Ambiguous before anything changes
        jamf_delete = next((a for a in actions if isinstance(a, DeleteJamfRecord)), None)
        if jamf_delete is not None and ctx.facts.get("cloud"):
            # what the Jamf records to delete escrowed can be read and saved, or the run stops here
            try:
                targets = jamf_delete.targets(ctx, cloud_facts(ctx))
            except Ambiguous:
                targets = []  # a dry-run reports the ambiguity at step 4
            notes += escrowed.preflight(ctx, targets, lambda wanted: _checked(ctx, wanted))
        mode = "read (dry-run)" if ctx.options.dry_run else "read and delete"
        return StepPlan(noop_reason=f"credentials may {mode}: " + ", ".join(needs), notes=notes)
