"""Before the first destructive step: the credentials may do everything the remaining cloud steps need, and
every cloud delete has exactly one candidate (or the operator's explicit choice). A dry-run needs only read."""

from __future__ import annotations

from cleanup.actions import cloud_records as R
from cleanup.actions.base import Action
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import PermissionMissing

READ_NEEDS = {
    "jamf_inventory.delete": ["jamf:read-computers"],
    "entra_devices.delete": ["graph:read-devices"],
    "intune_devices.delete": ["graph:read-managed"],
    "verify.registration": ["jamf:read-computers", "graph:read-devices", "graph:read-managed"],
    "jamf.remove_mdm_profile": ["jamf:read-computers"],  # the Remove MDM Profile command is optional
    "duplicates.entra": ["jamf:read-computers", "graph:read-devices", "graph:read-managed"],
    "duplicates.intune": ["jamf:read-computers", "graph:read-managed"],
}
DELETE_NEEDS = {
    "jamf_inventory.delete": ["jamf:delete-computers"],
    "entra_devices.delete": ["graph:delete-devices"],
    "intune_devices.delete": ["graph:delete-managed"],
    "duplicates.entra": ["graph:delete-devices"],
    "duplicates.intune": ["graph:delete-managed"],
}


def needs_for(actions: set[str], dry_run: bool) -> list[str]:
    needs: list[str] = []
    for action in sorted(actions):
        needs += READ_NEEDS.get(action, [])
        if not dry_run:
            needs += DELETE_NEEDS.get(action, [])
    return list(dict.fromkeys(needs))


class CloudPreflight(Action):
    name = "cloud.preflight"
    summary = "Check the Jamf Pro and Graph permissions the remaining steps need, and that every delete has one target"
    read_only = True
    params = {}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        actions = ctx.included_actions() & set(READ_NEEDS)
        if not actions or (actions == {"jamf.remove_mdm_profile"} and ctx.cloud_opener is None):
            return StepPlan(noop_reason="no cloud step in this run")
        if ctx.cloud_opener is None and ctx.options.dry_run:
            return StepPlan(noop_reason="no cloud connection configured")
        from cleanup.clients.permissions import check

        needs = needs_for(actions, ctx.options.dry_run)
        memo = getattr(ctx.cloud, "permission_memo", None)  # a batch checks its credentials once
        if memo is None:
            missing = check(ctx.cloud, needs)
        else:
            with ctx.cloud.permission_lock:
                key = tuple(needs)
                if key not in memo:
                    memo[key] = check(ctx.cloud, needs)
                missing = memo[key]
        known = [m for m in missing if m.known]
        if known:
            names = ", ".join(f"{m.service} {m.permission_name}" for m in known)
            raise PermissionMissing(f"the credentials lack {names}: nothing was changed",
                                    hint="grant the permission (and admin consent in Entra), then run again; `cleanup creds test` shows what they may do")
        notes = [str(m) for m in missing if not m.known]
        if not ctx.options.dry_run:
            from cleanup.actions import get_actions

            facts = R.cloud_facts(ctx)
            for name in sorted(actions & set(DELETE_NEEDS)):
                get_actions()[name].targets(ctx, facts)  # raises Ambiguous before anything changes
        mode = "read (dry-run)" if ctx.options.dry_run else "read and delete"
        return StepPlan(noop_reason=f"credentials may {mode}: " + ", ".join(needs), notes=notes)
