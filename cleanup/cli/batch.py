"""`cleanup batch select | run | resume | status`: many flagged Macs at once, within the services' limits.

The lifecycle lives in cleanup.batch.job; these commands parse options, call it and render (docs/json-batch.md
for --json)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cleanup.batch.watch import Watcher
from cleanup.cli import output, render
from cleanup.cli.common import ConfigOpt, JsonOpt, StateDirOpt, state_store
from cleanup.errors import UsageError

app = typer.Typer(help="Fleet work: select the Macs flagged as broken and repair them, many at once, resumable.", no_args_is_help=True)

GroupOpt = typer.Option(None, "--group", help="A Jamf Pro computer group (smart or static), by name.")
FileOpt = typer.Option(None, "--serials-file", help="A file of serials, one per line (# comments allowed).")
RuleOpt = typer.Option([], "--rule", help="duplicates | unresponsive | compliance-mismatch | aad-deactivated (repeatable).")


TABLE_ROWS = 100  # a summary table longer than this only lists the Macs that need a look; the reports have all


def _which(group: str | None, serials_file: Path | None, rule: list[str]):
    from cleanup.batch.job import Which

    return Which(group=group, serials_file=serials_file, rules=tuple(rule))


@app.command("select")
def select_cmd(
    group: str | None = GroupOpt, serials_file: Path | None = FileOpt, rule: list[str] = RuleOpt, config: Path | None = ConfigOpt, as_json: bool = JsonOpt
) -> None:
    """List the flagged Macs, with the reasons and the evidence (ids, timestamps). Changes nothing."""
    from cleanup.batch.job import select_macs

    rows = select_macs(_which(group, serials_file, rule), config)
    if as_json:
        return output.answer({"macs": rows})
    table = Table()
    for col in ("serial", "name", "reasons", "evidence"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["serial"], r.get("name") or "", "; ".join(r["reasons"]), render.json_brief(r["evidence"]))
    render.console.print(table)
    render.console.print(f"{len(rows)} Mac(s) selected")


@app.command("run")
def run_cmd(
    playbook: str = typer.Option(
        "duplicates", "--playbook", "-p", help="duplicates (cloud only) or cause6 (device steps need --host-template / --hosts-file)."
    ),
    group: str | None = GroupOpt,
    serials_file: Path | None = FileOpt,
    rule: list[str] = RuleOpt,
    host_template: str | None = typer.Option(
        None, "--host-template", help="Host of each Mac from the fields {serial} and {name}, e.g. ssh://admin@{name}.corp.example or sim:/labs/{serial}."
    ),
    hosts_file: Path | None = typer.Option(None, "--hosts-file", help="Lines `SERIAL HOST`."),
    concurrency: int = typer.Option(10, "--concurrency", min=1, max=64, help="Macs in flight at once."),
    max_deletions: int = typer.Option(50, "--max-deletions", min=0, help="Refuse (status 4, nothing changed) if the plan deletes more cloud objects."),
    intune_write_limit: int = typer.Option(200, "--intune-write-limit", min=1, help="Intune writes per window (Microsoft: 200 per 20 s per app)."),
    intune_window: float = typer.Option(20.0, "--intune-window", min=0.1, help="The window of --intune-write-limit, seconds."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan the whole batch read-only and print it."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Required for a real batch (it changes many Macs)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Exit with status 3 when only waits remain; the next run picks them up."),
    wait_seconds: float | None = typer.Option(None, "--wait-seconds", min=0, help="Override the playbook's wait (recorded)."),
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Select the flagged Macs, plan them all read-only, then repair them side by side (ledger + per-Mac checkpoints)."""
    from cleanup.batch import job
    from cleanup.batch.hosts import read_hosts_file
    from cleanup.batch.runner import BatchOptions

    opts = BatchOptions(
        concurrency=concurrency,
        max_deletions=max_deletions,
        yes=yes,
        no_wait=no_wait,
        wait_seconds=wait_seconds,
        host_template=host_template,
        hosts=read_hosts_file(hosts_file),
    )
    request = job.Request(playbook, _which(group, serials_file, rule), opts, job.Limits(intune_write_limit, intune_window), config)
    if dry_run:
        with job.dry_run(request) as planned:
            return _show_plan(planned, as_json)
    with job.run(request, state_store(state_dir), _Watch(as_json)) as finished:
        _show_finished(finished, as_json)


@app.command("resume")
def resume_cmd(
    batch_id: str | None = typer.Argument(None, help="The batch (see `cleanup batch status`)."),
    latest: bool = typer.Option(False, "--latest", help="The most recent batch."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Exit with status 3 when only waits remain."),
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Finish a batch after a crash or a stop: no Mac is processed twice, none is forgotten."""
    from cleanup.batch import job

    if not batch_id and not latest:
        raise UsageError("name the batch to resume, or use --latest", hint="`cleanup batch status` lists the batches")
    with job.resume(state_store(state_dir), batch_id, no_wait=no_wait, config=config, watcher=_Watch(as_json)) as finished:
        _show_finished(finished, as_json)


@app.command("status")
def status_cmd(batch_id: str | None = typer.Argument(None), state_dir: Path | None = StateDirOpt, as_json: bool = JsonOpt) -> None:
    """The batches, or one batch's Macs and their states (a running batch can be watched)."""
    from cleanup.batch import job
    from cleanup.batch.reports import summary_rows

    root = state_store(state_dir).root
    if not batch_id:
        found = job.batches(root)
        if as_json:
            return output.answer({"batches": found})
        for b in found:
            render.console.print(f"{b['batch_id']}  {b['playbook']}  {_counts(b['counts'])}", markup=False)
        return
    with job.open_batch(root, batch_id) as ledger:
        if not as_json:
            for row in summary_rows(ledger.macs()):
                render.console.print("  ".join(map(str, row)), markup=False)
            return
        for mac in ledger.macs():
            output.line({"event": "mac", "mac": mac})
        meta = {k: v for k, v in ledger.meta.items() if k != "playbook_text"}
        output.line({"event": "summary", **meta, "counts": ledger.counts()})


# -- rendering ------------------------------------------------------------------------------------------------


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


class _Watch(Watcher):
    """A running batch as a progress bar on stderr, or (--json) one JSON line per Mac whose turn ended."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def continuing(self, batch_id: str) -> None:
        render.err_console.print(f"continuing batch {batch_id} (Macs waiting or to retry) before selecting anew", markup=False)

    def started(self, batch_id: str, counts: dict[str, int]) -> None:
        if self.as_json:
            return
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=render.err_console, transient=False
        )
        self.bar.start()
        self.task = self.bar.add_task(f"batch {batch_id}", total=sum(counts.values()), completed=counts.get("done", 0) + counts.get("refused", 0))

    def mac(self, mac: dict) -> None:
        if self.as_json:
            output.line({"event": "progress", **{k: mac.get(k) for k in ("serial", "state", "outcome", "attempts")}})
        elif self.bar is not None and self.task is not None and mac["state"] != "waiting":
            self.bar.advance(self.task)

    def finished(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _show_finished(finished, as_json: bool) -> None:
    """Every Mac and the summary (JSON Lines), or the summary table; then the batch's exit status."""
    from cleanup.batch.reports import summary_rows

    ledger, counts, problem = finished.ledger, finished.counts, finished.problem()
    reports = {k: str(v) for k, v in finished.reports.items()}
    if as_json:
        for mac in ledger.macs():
            output.line({"event": "mac", "mac": mac})
        summary = {"event": "summary", "batch_id": ledger.batch_id, "playbook": ledger.meta["playbook"], "counts": counts, "reports": reports}
        if problem is None:
            return output.line(summary)
        output.partial(summary)  # cli.main prints it as the last line, with the exit status and the error
        raise problem
    total = sum(counts.values())
    macs = ledger.macs() if total <= TABLE_ROWS else ledger.macs(exclude="done")
    table = Table(title=f"batch {ledger.batch_id}" + ("" if total <= TABLE_ROWS else f" (the Macs not done, first {TABLE_ROWS})"))
    for col in ("serial", "name", "state", "outcome", "deleted"):
        table.add_column(col, overflow="fold")
    for n, row in enumerate(summary_rows(macs)):
        if n == TABLE_ROWS:
            break
        table.add_row(*map(str, row))
    render.console.print(table)
    render.console.print(f"{_counts(counts)}; reports: {', '.join(reports.values())}", markup=False)
    if problem is not None:
        raise problem


def _show_plan(planned, as_json: bool) -> None:
    """Each Mac's plan (JSON Lines, then the summary), or as text; refused (status 4) if a run would be."""
    problem = planned.problem()
    if as_json:
        for row in planned.rows():
            output.line({"event": "plan", "mac": row})
        summary = {"event": "summary", "dry_run": True, "macs": len(planned.ledger), "total_deletions": planned.total, "max_deletions": planned.max_deletions}
        if problem is None:
            return output.line(summary)
        output.partial(summary)
        raise problem
    count = 0
    for r in planned.rows():
        count += 1
        render.console.print(f"[bold]{escape(r['serial'])}[/] {escape(r['name'] or '')} — {escape('; '.join(r['reasons']))}")
        for t in r["deletions"]:
            render.console.print(f"   - delete {t}", markup=False)
        if r["problem"]:
            render.console.print(f"   ! {r['problem']}", markup=False)
    render.console.print(f"[bold]{planned.total} cloud object(s) would be deleted across {count} Mac(s).[/] Nothing was changed.")
    if problem is not None:
        raise problem


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="batch")
