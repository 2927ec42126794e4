"""`cleanup show RUN [--deleted]`: one run; with --deleted, what its cloud deletes destroyed, with the exports
saved right before each delete."""

from __future__ import annotations

from pathlib import Path

import typer

from cleanup.cli import output, render
from cleanup.cli.common import JsonOpt, StateDirOpt, state_store
from cleanup.engine.exports import deleted_objects
from cleanup.errors import UsageError


def show(
    run_id: str | None = typer.Argument(None, help="The run (see `cleanup status`)."),
    latest: bool = typer.Option(False, "--latest", help="The run started last in this state folder."),
    deleted: bool = typer.Option(False, "--deleted", help="List what the run deleted in Jamf Pro, Entra and Intune, with each object's export."),
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show one run: its steps, or with --deleted every cloud object it deleted and the export that holds it."""
    from cleanup.cli.runs import _status_of, latest_run

    store = state_store(state_dir)
    if not run_id and not latest:
        raise UsageError("name the run to show, or use --latest", hint="`cleanup status` lists the runs")
    rid = run_id or latest_run(store)
    if not deleted:
        return _status_of(store, rid, as_json)
    state, _ = store.load(rid)  # the run id checked, the folder trusted
    items = deleted_objects(store.run_dir(rid))
    if as_json:
        return output.answer({"run_id": rid, "serial": state.serial, "deleted": items})
    print_deleted(rid, state.serial, items)


def print_deleted(rid: str, serial: str, items: list[dict]) -> None:
    out = render.console
    out.print(f"Run {rid} (Mac {serial}): {len(items)} cloud object(s) deleted", markup=False)
    for d in items:
        out.print(f"  {d['service']} {d['id']}: {d.get('target')} — {d.get('result')} at {d.get('deleted_at')} (step {d.get('step')})", markup=False)
        if not d["exports"]:
            out.print("     export: none (this run saved none for it)", markup=False)
        for e in d["exports"]:
            if "error" in e:
                out.print(f"     export: {e['file']}: {e['error']}", markup=False)
                continue
            stripped = e.get("stripped") or []
            left_out = f"; secrets left out: {', '.join(stripped)}" if stripped else ""
            out.print(f"     export: {e['file']} ({e.get('source')}, saved {e.get('exported_at')}{left_out})", markup=False)
