"""The last step: the Mac's new Jamf Pro record goes back into the static groups its deleted record belonged to.

Smart groups follow by themselves (Jamf Pro computes their members); a static group's membership is lost with the
record step 4 deletes. The old memberships come from that record as it was exported right before its delete
(:mod:`cleanup.actions.cloud_export`); a dry-run reads them from the records step 4 would delete. A group is put
back only if it still exists with the same id and name and is still static; the new record is the one record of
the serial that step 0 did not record, and it is re-read (serial) before each change.
"""

from __future__ import annotations

from pathlib import Path

from cleanup.actions.recorded import cloud_facts
from cleanup.clients import jamf_groups as G
from cleanup.clients import records as R
from cleanup.engine.action import Action, ActsOn, Outcome, register
from cleanup.engine.context import RunContext
from cleanup.engine.exports import read_exports
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.engine.store import StateStore
from cleanup.errors import Ambiguous, SafetyRefusal, StepFailed

NEW_RECORD = "the Mac's new Jamf Pro record (after re-enrollment)"


def _static_groups(records: list[tuple[str, dict]]) -> tuple[list[dict], list[str]]:
    """The static groups (each once, by id) and the names of the smart groups of the old records."""
    static: dict[str, dict] = {}
    smart: list[str] = []
    for _, rec in records:
        for g in G.memberships(rec):
            if g["smart"]:
                smart.append(str(g["name"]))
            else:
                static.setdefault(g["id"], g)
    return list(static.values()), sorted(set(smart))


def _exported_records(ctx: RunContext, old_ids: set[str]) -> list[tuple[str, dict]]:
    """The Jamf Pro records this run deleted, as exported right before (the newest export of each)."""
    newest: dict[str, dict] = {}
    for doc in read_exports(StateStore(Path(ctx.state_dir)).run_dir(ctx.run_id)):
        if doc.get("service") == "jamf" and doc.get("id") in old_ids and isinstance(doc.get("object"), dict):
            newest[doc["id"]] = doc["object"]
    return sorted(newest.items())


def _records_to_delete(ctx: RunContext, facts: dict) -> list[tuple[str, dict]]:
    """A dry-run's view: the records step 4 would delete (the operator's picks, else every recorded one), live."""
    picks = set(ctx.options.choices.get("jamf") or facts.get("choices", {}).get("jamf") or [])
    ids = [r["id"] for r in facts.get("jamf") or [] if not picks or r["id"] in picks]
    return [(cid, rec) for cid in ids for rec in [ctx.cloud.jamf.computer(cid)] if rec is not None]


@register
class RestoreStaticGroups(Action):
    name = "jamf_groups.restore_static"
    summary = "Put the Mac's new Jamf Pro record back into the static groups its deleted record belonged to (smart groups follow by themselves)"
    acts_on = ActsOn.CLOUD
    destructive = True  # a static group may scope policies and profiles: the person who confirms the deletes confirms this too
    reads_cloud = True
    needs_read = ("jamf:read-computers", "jamf:read-groups")
    needs_write = ("jamf:update-static-groups",)
    params = {}

    def permissions(self, ctx: RunContext, write: bool) -> tuple[str, ...]:
        """Nothing to put back, nothing to ask for: when step 0 saw that none of the records step 4 deletes is in
        a static group, the group privileges are not needed (unknown memberships count as some)."""
        recorded = (ctx.facts.get("cloud") or {}).get("jamf")
        if recorded and all(r.get("static_groups") == [] for r in recorded):
            return ("jamf:read-computers",)
        return super().permissions(ctx, write)

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if ctx.cloud_opener is None and ctx.options.dry_run:
            return StepPlan(cannot_plan="no Jamf Pro / Graph connection is configured")
        facts = cloud_facts(ctx)
        old_ids = {r["id"] for r in facts.get("jamf") or []}
        old = _records_to_delete(ctx, facts) if ctx.options.dry_run else _exported_records(ctx, old_ids)
        if not old:
            return StepPlan(noop_reason="this run deletes no Jamf Pro record" if ctx.options.dry_run else "this run deleted no Jamf Pro record")
        static, smart = _static_groups(old)
        notes = [f"smart groups follow by themselves: {', '.join(smart)}"] if smart else []
        where = ", ".join(cid for cid, _ in old)
        if not static:
            return StepPlan(noop_reason=f"Jamf Pro record {where} belonged to no static group", notes=notes)
        groups, gone = self._still_static(ctx, static)
        notes += gone
        if ctx.options.dry_run:
            changes = [self._change(g, None, NEW_RECORD) for g in groups]
            return StepPlan(changes=changes, notes=notes, noop_reason=None if changes else "no static group of the old record is left to put back")
        new = self._new_record(ctx, facts, old_ids)
        if new is None:
            serial = facts["serial"]
            return StepPlan(blocked=[f"no new Jamf Pro record for serial {serial} yet (re-enrollment not seen)"], waiting_for=["jamf-record"], notes=notes)
        cid = str(new.get("id"))
        label = f"Jamf Pro computer {cid} {R.get_path(new, 'general', 'name')!r}"
        member_of = {g["id"] for g in G.memberships(new)}
        notes += [f"{label} is in static group {g['id']} {g['name']!r} already" for g in groups if g["id"] in member_of]
        changes = [self._change(g, cid, label) for g in groups if g["id"] not in member_of]
        return StepPlan(changes=changes, notes=notes, noop_reason=None if changes else f"{label} is in every static group of the old record")

    @staticmethod
    def _change(group: dict, cid: str | None, label: str) -> Change:
        return Change(
            key=f"jamf-group:{group['id']}",
            kind=ChangeKind.ADD_TO_STATIC_GROUP,
            target=f"{label} -> static group {group['id']} {group['name']!r}",
            details={"group_id": group["id"], "group_name": group["name"], "computer_id": cid},
        )

    @staticmethod
    def _still_static(ctx: RunContext, static: list[dict]) -> tuple[list[dict], list[str]]:
        """The old record's static groups that still exist, with the same id and name, and are still static."""
        now = {str(g.get("id")): g for g in ctx.cloud.jamf.computer_groups() if isinstance(g, dict)}
        keep, notes = [], []
        for g in static:
            cur = now.get(g["id"])
            if cur is None:
                notes.append(f"static group {g['id']} {g['name']!r} of the old record no longer exists: not put back")
            elif cur.get("name") != g["name"]:
                notes.append(f"group {g['id']} is now named {cur.get('name')!r}, not {g['name']!r}: not put back (check it in Jamf Pro)")
            elif cur.get("smartGroup"):
                notes.append(f"group {g['id']} {g['name']!r} is a smart group now: it finds its members itself")
            else:
                keep.append(g)
        return keep, notes

    @staticmethod
    def _new_record(ctx: RunContext, facts: dict, old_ids: set[str]) -> dict | None:
        """The serial's one record step 0 did not record; None before it appears; several -> Ambiguous (status 4)."""
        new = [r for r in ctx.cloud.jamf.computers_by_serial(facts["serial"]) if str(r.get("id")) not in old_ids]
        if len(new) > 1:
            listing = "; ".join(R.describe("jamf", R.jamf_summary(r)) for r in new)
            raise Ambiguous(
                f"{len(new)} new Jamf Pro records for serial {facts['serial']} where one is expected: {listing}",
                hint="put the right one into its static groups in Jamf Pro, then `cleanup resume` with --skip restore-static-groups",
            )
        return new[0] if new else None

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        d = change.details
        jamf = ctx.cloud.jamf
        serial = cloud_facts(ctx)["serial"]
        record = jamf.computer(d["computer_id"])
        if record is None or R.get_path(record, "hardware", "serialNumber") != serial:
            raise SafetyRefusal(f"Jamf Pro computer {d['computer_id']} is gone or no longer has serial {serial}; refusing to add it to a group")
        group = G.static_group(jamf, d["group_id"])
        if group is None:
            return Outcome.unchanged(f"static group {d['group_id']} no longer exists: not put back")
        if group["smart"] or group["name"] != d["group_name"]:
            raise SafetyRefusal(f"group {d['group_id']} changed since it was planned (now {group['name']!r}, smart: {group['smart']}); refusing to change it")
        if d["computer_id"] in group["members"]:
            return Outcome.unchanged("a member already")
        G.add_to_static_group(jamf, d["group_id"], d["computer_id"])
        after = G.static_group(jamf, d["group_id"])
        if after is None or d["computer_id"] not in after["members"]:
            raise StepFailed(f"Jamf Pro accepted adding computer {d['computer_id']} to static group {d['group_id']}, but it is not a member")
        return Outcome.done("added")
