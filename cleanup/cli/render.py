"""One place that turns plans and run states into text for people or JSON for scripts."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import Enum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cleanup.engine.plan import Change, StepPlan
from cleanup.engine.runner import DryRun
from cleanup.engine.state import RunState

PLAIN_WIDTH = 160  # tables in a log: wide enough not to fold a run id or a path


def _is_terminal(stream) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _console(stderr: bool = False, **options) -> Console:
    """A console for people; when its stream is not a terminal (a pipe, a Jamf policy log, a file) plain text: no
    colour, no cursor movement and no live display, whatever FORCE_COLOR, TTY_COMPATIBLE or TERM say."""
    if _is_terminal(sys.stderr if stderr else sys.stdout):
        return Console(stderr=stderr, highlight=False, **options)
    width = None if os.environ.get("COLUMNS", "").isdigit() else PLAIN_WIDTH
    return Console(stderr=stderr, highlight=False, force_terminal=False, force_interactive=False, color_system=None, width=width, **options)


#: stdout is not a terminal: the reporter prints one line per step, and no progress bar
PLAIN = not _is_terminal(sys.stdout)
console = _console(soft_wrap=True)
err_console = _console(stderr=True)


def json_brief(data: Any, limit: int = 160) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_line(change: Change) -> str:
    d = change.details
    if change.kind == "delete-keychain-item":
        bits = [f"{d.get('keychain')}", d.get("class", "")]
        bits += [f"{k}={d[k]!r}" for k in ("labl", "svce", "acct", "srvr") if d.get(k)]
        if d.get("sha1"):
            bits.append(f"SHA-1 {d['sha1']}")
        return f"delete {' '.join(bits)}  [{d.get('matched', '')}]"
    if change.kind == "clear-identity-preference":
        return f"clear identity preference {d['service']} in {d['keychain']} (SHA-1 {d.get('sha1') or '?'})  [{d.get('matched', '')}]"
    if change.kind == "remove-path":
        return f"remove {change.target}"
    if change.kind in ("run-command", "restart"):
        return f"run {change.target}"
    if change.kind in ("delete-jamf-record", "delete-entra-device", "delete-intune-record"):
        return f"delete {change.target}"
    return f"{change.kind} {change.target}"


def dry_run_json(report: DryRun) -> dict:
    steps = []
    for step, plan in report.plans:
        entry = {"id": step.id, "number": step.number, "title": step.title, "action": step.action, "acts_on": step.acts_on, "destructive": step.destructive}
        entry.update(plan.to_json() if plan else {"status": "excluded"})
        steps.append(entry)
    total = sum(len(p.changes) for _, p in report.plans if p)
    return {
        "dry_run": True,
        "host": report.host,
        "playbook": report.playbook.name,
        "facts": report.facts,
        "total_changes": total,
        "steps": steps,
        "refusals": report.refusals,
    }


def plain(value: Any) -> str:
    """``value`` as text; an enum (the engine's step and run states) as its value."""
    return str(value.value if isinstance(value, Enum) else value)


def lit(value: Any) -> str:
    """Text from a Mac, a service or a file, made safe to place inside rich markup: printed literally."""
    return escape(plain(value))


def print_cloud_records(cloud: dict | None) -> None:
    """What step 0 found in each service, so helpdesk sees the whole picture."""
    if not cloud:
        return
    from cleanup.clients.records import describe

    for service, title in (("jamf", "Jamf Pro"), ("entra", "Entra ID"), ("intune", "Intune")):
        recs = cloud.get(service) or []
        console.print(f"  {title}: {len(recs)} record(s) of Mac {cloud.get('serial')}", markup=False)
        for r in recs:
            console.print(f"     {describe(service, r)}", markup=False)


def _step_head(step) -> str:
    return f"[bold]{step.number:>2} {lit(step.id)}[/]"


def print_dry_run(report: DryRun) -> None:
    f = report.facts
    console.print(
        f"[bold]Plan for Mac {lit(f.get('serial', '?'))} ({lit(f.get('computer_name', '?'))})[/] on {lit(report.host)}, "
        f"playbook {lit(report.playbook.name)} — dry-run, nothing is changed"
    )
    users = ", ".join(u["name"] for u in f.get("users", [])) or "none"
    if "users" in f:
        console.print(
            f"  users: {users}; console user: {f.get('console_user') or 'nobody'}; Entra deviceId: {f.get('entra_device_id') or 'unknown'}", markup=False
        )
    print_cloud_records(f.get("cloud"))
    for step, plan in report.plans:
        _print_step_plan(step, plan)
    total = sum(len(p.changes) for _, p in report.plans if p)
    console.print(f"[bold]{total} change(s) would be made.[/] Nothing was changed.")
    for r in report.refusals:
        console.print(f"[red]a run would refuse:[/] {lit(r)}")


def _print_step_plan(step, plan: StepPlan | None) -> None:
    if plan is None:
        console.print(f"[dim]{step.number:>2} {lit(step.id)}: excluded by --only/--from/--to[/]")
        return
    tag = f"{plain(step.acts_on)}{', destructive' if step.destructive else ''}"
    style = {"would-change": "yellow", "no-op": "green", "blocked": "red", "cannot-plan": "magenta"}[plan.status]
    console.print(f"{_step_head(step)} — {lit(step.title)} [dim]({lit(tag)})[/]: [{style}]{lit(plan.summary())}[/]")
    for c in plan.changes:
        console.print(f"     - {change_line(c)}", markup=False)
    for b in plan.blocked:
        console.print(f"     ! blocked: {b}", markup=False)
    for n in plan.notes:
        console.print(f"     · {n}", markup=False)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def _table(*columns: str, **options) -> Table:
    table = Table(**options)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _row(table: Table, *cells: Any) -> None:
    """Cells as Text: a table renders a plain str as markup."""
    table.add_row(*(Text(plain(c)) for c in cells))


def print_status(run: RunState, titles: dict[str, tuple[int, str]]) -> None:
    console.print(
        f"[bold]Run {lit(run.run_id)}[/]: {lit(run.status)} — Mac {lit(run.serial)} ({lit(run.computer_name)}) on {lit(run.host)}, playbook {lit(run.playbook)}"
    )
    table = _table("#", "step", "state", "started", "took", "outcome", show_lines=False)
    for st in run.steps:
        num, _ = titles.get(st.id, (-1, ""))
        took = f"{st.ended - st.started:.1f}s" if st.started and st.ended else ""
        _row(table, num, st.id, st.state, _when(st.started), took, st.outcome or "")
    console.print(table)
    for o in run.overrides:
        where = f" on step {o['step']}" if "step" in o else ""
        console.print(f"override: {o['kind']}{where}" + (f" ({o['seconds']} s)" if "seconds" in o else ""), markup=False)


def print_runs(runs: list[RunState]) -> None:
    table = _table("run", "Mac", "playbook", "status", "next step", "updated")
    for r in runs:
        nxt = next((s.id for s in r.steps if s.state not in ("done", "skipped", "excluded")), "")
        _row(table, r.run_id, f"{r.serial} {r.computer_name}", r.playbook, r.status, nxt, _when(r.updated))
    console.print(table)


def print_plan_confirmation(step, plan: StepPlan) -> None:
    console.print(f"[bold]Step {step.number} ({lit(step.id)})[/] — {lit(step.title)}: {len(plan.changes)} change(s)")
    for c in plan.changes:
        console.print(f"   - {change_line(c)}", markup=False)
