"""What the three cloud deletes (steps 4, 5, 11) share: act only on objects recorded in step 0, re-read each one
right before deleting it, refuse if its identity changed, save it whole to the run's folder (no export, no
delete), and treat 404 as "already gone"."""

from __future__ import annotations

from cleanup.actions.cloud_export import export_before_delete, full_object
from cleanup.actions.recorded import chosen, cloud_facts
from cleanup.clients import records as R
from cleanup.engine.action import Action, Outcome
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import CleanupError, StepFailed

GONE = Outcome.unchanged("already gone")
DELETED = Outcome.done("deleted")
RESENT_DELETE = Outcome.done("deleted (answered 404 right after the re-read found it: a re-sent request of this run's)")


class CloudDelete(Action):
    service = ""  # jamf | entra | intune: the key of the recorded facts
    what = ""  # plural, for people
    option: str | None = None  # the operator's pick when several match where one is expected
    kind: ChangeKind  # what each change is: every service sets it
    batched = True
    already_means_applied = True
    params = {}

    # -- per service -----------------------------------------------------------------------------
    def identity(self, rec: dict) -> dict:
        """The recorded fields the object must still have when it is deleted."""
        raise NotImplementedError

    def changed(self, expected: dict, current: dict) -> str | None:
        """Why ``current`` is no longer the recorded object, or None."""
        raise NotImplementedError

    def read(self, ctx: RunContext, ids: list[str]) -> dict[str, dict | None]:
        raise NotImplementedError

    def delete(self, ctx: RunContext, ids: list[str]) -> dict[str, Outcome | Exception]:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------
    def targets(self, ctx: RunContext, facts: dict) -> list[dict]:
        found = facts.get(self.service) or []
        if self.option:
            return chosen(ctx, self.service, found, self.what, self.option)
        return found

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if ctx.cloud_opener is None and ctx.options.dry_run:
            return StepPlan(cannot_plan="no Jamf Pro / Graph connection is configured (`cleanup creds set jamf|graph`)")
        facts = cloud_facts(ctx)
        targets = self.targets(ctx, facts)
        notes = self.notes(facts)
        if not targets:
            return StepPlan(noop_reason=f"no {self.what} recorded for serial {facts['serial']}", notes=notes)
        changes = [
            Change(
                key=f"{self.service}:{rec['id']}",
                kind=self.kind,
                target=R.describe(self.service, rec),
                details={"service": self.service, "id": rec["id"], "expect": self.identity(rec)},
            )
            for rec in targets
        ]
        saved = f"each object is saved whole (secrets left out) in the run's folder right before its delete: `cleanup show {ctx.run_id or 'RUN'} --deleted`"
        return StepPlan(changes=changes, notes=notes + [saved])

    def notes(self, facts: dict) -> list[str]:
        return []

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        outcome = self.apply_many(ctx, step, [change])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def apply_many(self, ctx: RunContext, step: Step, changes: list[Change]) -> list[Outcome | Exception]:
        ids = [c.details["id"] for c in changes]
        try:
            current = self.read(ctx, ids)
        except CleanupError as exc:
            return [exc] * len(changes)
        outcome: dict[str, Outcome | Exception] = {}
        go: list[str] = []
        for change in changes:
            oid = change.details["id"]
            cur = current.get(oid)
            if cur is None:
                outcome[oid] = GONE
            elif why := self.changed(change.details["expect"], cur):
                outcome[oid] = R.refuse_changed(self.service, {**change.details["expect"], "id": oid}, why)
            else:
                go.append(oid)
        go = self._export(ctx, changes, current, go, outcome)
        if go:
            try:
                outcome.update(self.delete(ctx, go))
            except CleanupError as exc:
                outcome.update({oid: exc for oid in go})
            for oid in go:
                if outcome[oid] == GONE:
                    # it was there at the re-read a moment ago: the HTTP layer re-sent this run's request after
                    # losing the answer, and the first send deleted it
                    outcome[oid] = RESENT_DELETE
        return [outcome[c.details["id"]] for c in changes]

    def _export(self, ctx: RunContext, changes: list[Change], current: dict[str, dict | None], go: list[str], outcome: dict) -> list[str]:
        """Save each object about to be deleted to the run's folder (cloud_export); returns the ids to delete: an
        object whose export failed, or that is gone or changed at the export's own read, is not deleted."""
        expect = {c.details["id"]: c.details["expect"] for c in changes}
        saved: list[str] = []
        for oid in go:
            try:
                obj = full_object(ctx, self.service, oid, current[oid] or {})
                if obj is None:
                    outcome[oid] = GONE
                elif why := self.changed(expect[oid], obj):
                    outcome[oid] = R.refuse_changed(self.service, {**expect[oid], "id": oid}, why)
                else:
                    export_before_delete(ctx, self.service, oid, obj)
                    saved.append(oid)
            except CleanupError as exc:
                outcome[oid] = exc
            except OSError as exc:
                outcome[oid] = StepFailed(f"could not save the export of {self.service} object {oid} to the run's folder ({exc}); it was not deleted")
        return saved
