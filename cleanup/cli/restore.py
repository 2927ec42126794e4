"""`cleanup restore RUN [--entra] [--dry-run]`: bring back the Entra devices a run deleted, where the tenant
still keeps them soft-deleted (see cleanup.actions.entra_restore)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cleanup.cli import output, render
from cleanup.cli.common import ConfigOpt, JsonOpt, StateDirOpt, cloud_opener, state_store
from cleanup.engine.audit import AuditLog
from cleanup.engine.exports import deleted_objects
from cleanup.errors import CleanupError, SafetyRefusal, UsageError


def restore(
    run_id: str | None = typer.Argument(None, help="The run whose deletions to undo (see `cleanup status`)."),
    latest: bool = typer.Option(False, "--latest", help="The run started last in this state folder."),
    entra: bool = typer.Option(False, "--entra", help="Only the run's deleted Entra devices (the only kind a tenant can keep soft-deleted)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and print what would be restored; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before restoring."),
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Restore the Entra devices this run deleted, where the tenant keeps soft-deleted devices (30 days); report what
    could not be restored (Jamf Pro and Intune have no undelete). Exit 0 only if everything asked for is back."""
    from cleanup.actions.entra_restore import apply_restore, plan_restore
    from cleanup.cli.runs import latest_run

    store = state_store(state_dir)
    if not run_id and not latest:
        raise UsageError("name the run whose deletions to restore, or use --latest", hint="`cleanup status` lists the runs")
    rid = run_id or latest_run(store)
    state, _ = store.load(rid)
    opener = cloud_opener(config)
    if opener is None:
        raise UsageError("no Graph connection is configured", hint="`cleanup creds set graph`")
    with store.lock(state.serial, rid):  # never while a run acts on this Mac
        deleted = deleted_objects(store.run_dir(rid))
        cloud = opener()
        try:
            items = plan_restore(cloud, deleted, (state.facts.get("cloud") or {}).get("entra") or [], entra_only=entra)
            if not dry_run and any(i.state == "would-restore" for i in items):
                _confirm(items, yes)
                items = apply_restore(cloud, items)
                audit = AuditLog(store.run_dir(rid) / "audit.jsonl")
                for i in items:
                    if i.state in ("restored", "failed") and i.service == "entra":
                        audit.append(
                            {"event": "restore", "run": rid, "service": i.service, "id": i.id, "deviceId": i.device_id, "result": i.state, "reason": i.reason}
                        )
        finally:
            cloud.close()
    data = {"run_id": rid, "serial": state.serial, "dry_run": dry_run, "items": [i.to_json() for i in items]}
    if not as_json:
        render.console.print(
            f"Run {rid} (Mac {state.serial}): {len(items)} deleted object(s) considered{' (dry-run: nothing changed)' if dry_run else ''}", markup=False
        )
        for i in items:
            render.console.print(f"  {i.line()}", markup=False)
    refused = [i for i in items if i.state == "refused"]
    failed = [i for i in items if i.state in ("failed", "not-restorable")]
    if refused or failed:
        output.partial(data)
        what = f"{len(refused) + len(failed)} of {len(items)} deleted object(s) cannot be restored" + (" (dry-run)" if dry_run else "")
        raise SafetyRefusal(what + ": refused for safety, see above") if refused else CleanupError(what + ", see above")
    if as_json:
        output.answer(data)


def _confirm(items, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("restoring changes Entra ID and needs confirmation: add --yes (or check first with --dry-run)")
    for i in items:
        if i.state == "would-restore":
            render.console.print(f"  would restore {i.target}", markup=False)
    if not typer.confirm("Restore these Entra devices?", default=False):
        raise CleanupError("not confirmed: nothing was restored")


def register(app: typer.Typer) -> None:
    app.command()(restore)
