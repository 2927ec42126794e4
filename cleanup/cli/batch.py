"""`cleanup batch select | run | resume | status`: many flagged Macs at once, within the services' limits."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cleanup.cli import render
from cleanup.cli.common import ConfigOpt, JsonOpt, StateDirOpt, state_store
from cleanup.errors import Paused, SafetyRefusal, StepFailed, UsageError

app = typer.Typer(help="Fleet work: select the Macs flagged as broken and repair them, many at once, resumable.", no_args_is_help=True)

GroupOpt = typer.Option(None, "--group", help="A Jamf Pro computer group (smart or static), by name.")
FileOpt = typer.Option(None, "--serials-file", help="A file of serials, one per line (# comments allowed).")
RuleOpt = typer.Option([], "--rule", help="duplicates | unresponsive | compliance-mismatch | aad-deactivated (repeatable).")


def _cloud(config: Optional[Path], write_limit: int, window: float):
    from cleanup.clients.cloud import CloudSession
    from cleanup.clients.config import load_config
    from cleanup.clients.http import HttpSettings
    from cleanup.clients.secrets import Secrets
    from cleanup.clients.throttle import Gate

    cfg = load_config(config)
    if not (cfg.jamf_configured() or cfg.graph_configured()):
        raise UsageError("a batch needs Jamf Pro and Graph configured", hint="`cleanup creds set jamf` and `cleanup creds set graph`")
    return CloudSession(cfg, Secrets(), HttpSettings(ca_bundle=cfg.ca_bundle), gate=Gate(write_limit, window))


def _print_selection(rows: list[dict]) -> None:
    table = Table()
    for col in ("serial", "name", "reasons", "evidence"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["serial"], r.get("name") or "", "; ".join(r["reasons"]), render.json_brief(r["evidence"]))
    render.console.print(table)
    render.console.print(f"{len(rows)} Mac(s) selected")


@app.command("select")
def select_cmd(group: Optional[str] = GroupOpt, serials_file: Optional[Path] = FileOpt, rule: list[str] = RuleOpt,
               config: Optional[Path] = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """List the flagged Macs, with the reasons and the evidence (ids, timestamps). Changes nothing."""
    from cleanup.batch.select import select

    cloud = None if (serials_file and not group and not rule) else _cloud(config, 200, 20.0)
    try:
        rows = select(cloud, group=group, serials_file=serials_file, rules=rule)
    finally:
        if cloud is not None:
            cloud.close()
    render.emit_json(rows) if as_json else _print_selection(rows)


def _hosts_file(path: Optional[Path]) -> dict[str, str]:
    if path is None:
        return {}
    from cleanup.identifiers import SERIAL_RE

    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2 or not SERIAL_RE.fullmatch(parts[0]):
            raise UsageError(f"{path} line {n}: want `SERIAL HOST`, got {text!r}")
        out[parts[0]] = parts[1]
    return out


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=render.err_console, disable=quiet, transient=False)


@app.command("run")
def run_cmd(
    playbook: str = typer.Option("duplicates", "--playbook", "-p", help="duplicates (cloud only) or cause6 (device steps need --host-template / --hosts-file)."),
    group: Optional[str] = GroupOpt, serials_file: Optional[Path] = FileOpt, rule: list[str] = RuleOpt,
    host_template: Optional[str] = typer.Option(None, "--host-template", help="Host of each Mac, e.g. ssh://admin@{name}.corp.example or sim:/labs/{serial}."),
    hosts_file: Optional[Path] = typer.Option(None, "--hosts-file", help="Lines `SERIAL HOST`."),
    concurrency: int = typer.Option(10, "--concurrency", min=1, max=64, help="Macs in flight at once."),
    max_deletions: int = typer.Option(50, "--max-deletions", min=0, help="Refuse (status 4, nothing changed) if the plan deletes more cloud objects."),
    intune_write_limit: int = typer.Option(200, "--intune-write-limit", min=1, help="Intune writes per window (Microsoft: 200 per 20 s per app)."),
    intune_window: float = typer.Option(20.0, "--intune-window", min=0.1, help="The window of --intune-write-limit, seconds."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan the whole batch read-only and print it."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Required for a real batch (it changes many Macs)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Exit with status 3 when only waits remain; the next run picks them up."),
    wait_seconds: Optional[float] = typer.Option(None, "--wait-seconds", min=0, help="Override the playbook's wait (recorded)."),
    config: Optional[Path] = ConfigOpt, state_dir: Optional[Path] = StateDirOpt, as_json: bool = JsonOpt,
) -> None:
    """Select the flagged Macs, plan them all read-only, then repair them side by side (ledger + per-Mac checkpoints)."""
    from cleanup.batch.approval import approved_playbook
    from cleanup.batch.ledger import Ledger, batch_lock
    from cleanup.batch.runner import BatchOptions, BatchRunner
    from cleanup.engine.loader import load_playbook

    pb = load_playbook(playbook)
    if not dry_run and not yes:
        raise UsageError("a batch changes many Macs and cannot ask each time: review it with --dry-run, then add --yes")
    opts = BatchOptions(concurrency=concurrency, max_deletions=max_deletions, yes=yes, no_wait=no_wait, wait_seconds=wait_seconds,
                        host_template=host_template, hosts=_hosts_file(hosts_file))
    store = state_store(state_dir)
    cloud = _cloud(config, intune_write_limit, intune_window)
    try:
        if dry_run:
            return _dry_run(BatchRunner(store, pb, opts, cloud), group, serials_file, rule, as_json)
        with batch_lock(store.root):
            Ledger.discard_abandoned(store.root)
            unfinished = _unfinished(store, pb)
            if unfinished is not None:  # a scheduled run first finishes what the last one left (waits, retries)
                render.err_console.print(f"continuing batch {unfinished.batch_id} (Macs waiting or to retry) before selecting anew", markup=False)
                return _execute(BatchRunner(store, approved_playbook(unfinished), opts, cloud), unfinished, store, as_json)
            ledger = Ledger.create(store.root, pb.name, opts.to_json(), pb.text)
            allowed = False
            try:
                runner = BatchRunner(store, pb, opts, cloud)
                total = _select_and_plan(runner, ledger, group, serials_file, rule)
                if total > max_deletions:
                    raise SafetyRefusal(f"the batch would delete {total} cloud objects, more than --max-deletions {max_deletions}; nothing was changed",
                                        hint="check it with --dry-run; raise --max-deletions if it is right")
                ledger.open_for_run()
                allowed = True
            finally:
                if not allowed:
                    ledger.discard()  # selected and planned only: nothing was changed, nothing to keep
            _execute(runner, ledger, store, as_json)
    finally:
        cloud.close()


def _select_and_plan(runner, ledger, group, serials_file, rule) -> int:
    """Select the Macs into the ledger and plan each one read-only; returns the deletions planned."""
    from cleanup.batch.select import select

    with ledger.transaction():
        select(runner.cloud.session, group=group, serials_file=serials_file, rules=rule, into=ledger)
    return runner.plan(ledger)


def _dry_run(runner, group, serials_file, rule, as_json: bool) -> None:
    """Select and plan in a scratch folder outside the state folder: a dry-run leaves nothing behind."""
    import tempfile

    from cleanup.batch.ledger import Ledger

    with tempfile.TemporaryDirectory(prefix="cleanup-dry-run-") as scratch:
        ledger = Ledger.create(Path(scratch), runner.playbook.name, runner.opts.to_json(), runner.playbook.text)
        try:
            total = _select_and_plan(runner, ledger, group, serials_file, rule)
            _print_plan(ledger, total, runner.opts.max_deletions, as_json)
        finally:
            ledger.close()


@app.command("resume")
def resume_cmd(batch_id: Optional[str] = typer.Argument(None, help="The batch (see `cleanup batch status`)."),
               latest: bool = typer.Option(False, "--latest", help="The most recent batch."),
               no_wait: bool = typer.Option(False, "--no-wait", help="Exit with status 3 when only waits remain."),
               config: Optional[Path] = ConfigOpt, state_dir: Optional[Path] = StateDirOpt, as_json: bool = JsonOpt) -> None:
    """Finish a batch after a crash or a stop: no Mac is processed twice, none is forgotten."""
    from cleanup.batch.approval import approved_playbook
    from cleanup.batch.ledger import Ledger, batch_lock
    from cleanup.batch.runner import BatchOptions, BatchRunner

    if not batch_id and not latest:
        raise UsageError("name the batch to resume, or use --latest", hint="`cleanup batch status` lists the batches")
    store = state_store(state_dir)
    cloud = None
    try:
        with batch_lock(store.root):
            ledger = Ledger.load(store.root, batch_id or _latest(store.root), write=True)
            try:  # the batch runs what was approved: the playbook text and the options it stored, never a name
                playbook = approved_playbook(ledger)
                opts = BatchOptions.from_json(ledger.meta["options"], f"batch ledger {ledger.path}")
            except BaseException:
                ledger.close()
                raise
            opts.no_wait = no_wait
            cloud = _cloud(config, 200, 20.0)
            _execute(BatchRunner(store, playbook, opts, cloud), ledger, store, as_json)
    finally:
        if cloud is not None:
            cloud.close()


def _latest(root: Path) -> str:
    from cleanup.batch.ledger import Ledger

    ids = Ledger.batch_ids(root)
    if ids:
        return ids[-1]
    left = Ledger.abandoned(root)
    note = (f"; {', '.join(left)} in {root / 'batches'} is the planning folder of a `batch run` that was stopped before its "
            "plan was allowed (it changed nothing; the next `batch run` removes it)") if left else ""
    raise UsageError(f"no batch to resume in {root}{note}", hint="`cleanup batch run` starts one")


def _unfinished(store, playbook):
    """The latest batch with work left that approved this very playbook (same text), if any."""
    from cleanup.batch.ledger import Ledger, playbook_sha256

    for bid in reversed(Ledger.batch_ids(store.root)):
        ledger = Ledger.load(store.root, bid)
        due = ledger.meta["playbook_sha256"] == playbook_sha256(playbook.text) and ledger.any_due()
        ledger.close()
        if due:
            return Ledger.load(store.root, bid, write=True)
    return None


TABLE_ROWS = 100  # a summary table longer than this only lists the Macs that need a look; the reports have all


def _execute(runner, ledger, store, as_json: bool) -> None:
    from cleanup.batch.reports import summary_rows, write_reports

    try:
        with _progress(as_json) as bar:
            counts = ledger.counts()
            task = bar.add_task(f"batch {ledger.batch_id}", total=sum(counts.values()))
            bar.update(task, completed=counts.get("done", 0) + counts.get("refused", 0))

            def on_mac(mac: dict) -> None:
                if mac["state"] != "waiting":
                    bar.advance(task)

            runner.on_mac = on_mac
            try:
                counts = runner.run(ledger)
            finally:
                ledger.touch()
        paths = write_reports(ledger.dir, ledger.meta, ledger.macs, store)
        if as_json:
            render.emit_json_stream({"batch_id": ledger.batch_id, "counts": counts, "reports": {k: str(v) for k, v in paths.items()}},
                                    "macs", ledger.macs())
        else:
            total = sum(counts.values())
            macs = ledger.macs() if total <= TABLE_ROWS else ledger.macs("state != 'done'")
            table = Table(title=f"batch {ledger.batch_id}" + ("" if total <= TABLE_ROWS else f" (the Macs not done, first {TABLE_ROWS})"))
            for col in ("serial", "name", "state", "outcome", "deleted"):
                table.add_column(col, overflow="fold")
            for n, row in enumerate(summary_rows(macs)):
                if n == TABLE_ROWS:
                    break
                table.add_row(*map(str, row))
            render.console.print(table)
            render.console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f"; reports: {', '.join(str(p) for p in paths.values())}", markup=False)
    finally:
        ledger.close()
    failed = counts.get("failed", 0) + counts.get("refused", 0)
    if failed:
        raise StepFailed(f"batch {ledger.batch_id}: {failed} Mac(s) not repaired (see the report); the others are done or waiting",
                         hint=f"retryable ones are retried by `cleanup batch resume {ledger.batch_id}`")
    if counts.get("waiting"):
        raise Paused(f"batch {ledger.batch_id}: {counts['waiting']} Mac(s) waiting; `cleanup batch resume {ledger.batch_id}` continues")


def _print_plan(ledger, total: int, max_deletions: int, as_json: bool) -> None:
    def rows():
        for mac in ledger.macs():
            plan = ledger.plan(mac["serial"]) or {}
            problem = mac["outcome"] if mac["state"] in ("refused", "failed") else None
            yield {"serial": mac["serial"], "name": mac.get("name"), "reasons": mac["reasons"], "host": mac.get("host"),
                   "deletions": plan.get("deletions") or [], "problem": problem}

    count = 0
    if as_json:
        render.emit_json_stream({"dry_run": True, "total_deletions": total}, "macs", rows())
    else:
        for r in rows():
            count += 1
            render.console.print(f"[bold]{r['serial']}[/] {r['name'] or ''} — {'; '.join(r['reasons'])}")
            for t in r["deletions"]:
                render.console.print(f"   - delete {t}", markup=False)
            if r["problem"]:
                render.console.print(f"   ! {r['problem']}", markup=False)
        render.console.print(f"[bold]{total} cloud object(s) would be deleted across {count} Mac(s).[/] Nothing was changed.")
    if total > max_deletions:
        raise SafetyRefusal(f"a run would refuse: {total} deletions exceed --max-deletions {max_deletions}")


@app.command("status")
def status_cmd(batch_id: Optional[str] = typer.Argument(None), state_dir: Optional[Path] = StateDirOpt, as_json: bool = JsonOpt) -> None:
    """The batches, or one batch's Macs and their states (a running batch can be watched)."""
    from cleanup.batch.ledger import Ledger
    from cleanup.batch.reports import summary_rows

    store = state_store(state_dir)
    if batch_id:
        ledger = Ledger.load(store.root, batch_id)
        try:
            if as_json:
                return render.emit_json_stream(ledger.meta, "macs", ledger.macs())
            for row in summary_rows(ledger.macs()):
                render.console.print("  ".join(map(str, row)), markup=False)
        finally:
            ledger.close()
        return
    out = []
    for bid in Ledger.batch_ids(store.root):
        ledger = Ledger.load(store.root, bid)
        out.append({"batch_id": bid, "playbook": ledger.meta["playbook"], "counts": ledger.counts()})
        ledger.close()
    if as_json:
        return render.emit_json(out)
    for b in out:
        render.console.print(f"{b['batch_id']}  {b['playbook']}  " + ", ".join(f"{n} {s}" for s, n in sorted(b["counts"].items())), markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="batch")
