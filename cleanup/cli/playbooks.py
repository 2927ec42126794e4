"""`cleanup playbooks list | show NAME | validate FILE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cleanup.actions import get_actions
from cleanup.cli import render
from cleanup.cli.common import JsonOpt
from cleanup.engine.loader import available_playbooks, load_playbook, playbook_errors
from cleanup.errors import PlaybookError

app = typer.Typer(help="List, show and validate playbooks.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """The playbooks that ship with cleanup."""
    table = Table()
    for col in ("name", "steps", "title"):
        table.add_column(col)
    for name, path in available_playbooks().items():
        pb = load_playbook(str(path))
        table.add_row(name, str(len(pb.steps)), pb.title)
    render.console.print(table)


@app.command()
def show(name: str = typer.Argument(..., help="Playbook name or file."), as_json: bool = JsonOpt) -> None:
    """Every step: article number, action, where it acts, whether it is destructive, parameters."""
    pb = load_playbook(name)
    if as_json:
        render.emit_json(
            {
                "name": pb.name,
                "title": pb.title,
                "description": pb.description,
                "steps": [
                    {"id": s.id, "number": s.number, "title": s.title, "action": s.action, "acts_on": s.acts_on, "destructive": s.destructive, "params": s.params}
                    for s in pb.steps
                ],
            }
        )
        return
    render.console.print(f"[bold]{pb.name}[/] — {pb.title}\n{pb.description}")
    actions = get_actions()
    for s in pb.steps:
        render.console.print(f"[bold]{s.number:>2} {s.id}[/] ({s.acts_on}{', destructive' if s.destructive else ''}) {s.title}")
        render.console.print(f"     action {s.action}: {actions[s.action].summary}", markup=False)
        for k, v in s.params.items():
            render.console.print(f"     {k} = {v!r}", markup=False)


@app.command()
def validate(file: Path = typer.Argument(..., help="A playbook TOML file.")) -> None:
    """Check a playbook: every problem is named with file, step and field."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(f"{file}: cannot read: {exc}") from None
    errors = playbook_errors(text, str(file))
    if errors:
        for line in errors[1:]:
            render.err_console.print(f"error: {line}", markup=False)
        raise PlaybookError(errors[0])
    render.console.print(f"{file}: valid", markup=False)
