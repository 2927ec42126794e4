"""`cleanup playbooks list | show NAME | validate FILE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from cleanup.cli import output, render
from cleanup.cli.common import JsonOpt
from cleanup.cli.render import lit
from cleanup.engine.loader import (
    available_playbooks,
    load_playbook,
    playbook_errors,
    read_playbook_text,
)
from cleanup.errors import PlaybookError

app = typer.Typer(help="List, show and validate playbooks.", no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = JsonOpt) -> None:
    """The playbooks that ship with cleanup."""
    found = available_playbooks()
    playbooks = {name: load_playbook(str(path)) for name, path in found.items()}
    if as_json:
        return output.answer(
            {"playbooks": [{"name": name, "title": pb.title, "steps": len(pb.steps), "path": str(found[name])} for name, pb in playbooks.items()]}
        )
    table = Table()
    for col in ("name", "steps", "title"):
        table.add_column(col)
    for name, pb in playbooks.items():
        table.add_row(Text(name), str(len(pb.steps)), Text(pb.title))
    render.console.print(table)


def _show_json(pb) -> dict:
    steps = [
        {"id": s.id, "number": s.number, "title": s.title, "action": s.action, "acts_on": s.acts_on, "destructive": s.destructive, "params": s.params}
        for s in pb.steps
    ]
    return {"name": pb.name, "title": pb.title, "description": pb.description, "steps": steps}


@app.command()
def show(name: str = typer.Argument(..., help="Playbook name or file."), as_json: bool = JsonOpt) -> None:
    """Every step: article number, action, where it acts, whether it is destructive, parameters."""
    pb = load_playbook(name)
    if as_json:
        return output.answer(_show_json(pb))
    render.console.print(f"[bold]{lit(pb.name)}[/] — {lit(pb.title)}")
    render.console.print(pb.description, markup=False)
    summaries = _action_summaries()
    for s in pb.steps:
        render.console.print(f"[bold]{s.number:>2} {lit(s.id)}[/] ({lit(s.acts_on)}{', destructive' if s.destructive else ''}) {lit(s.title)}")
        render.console.print(f"     action {s.action}: {summaries.get(s.action, '?')}", markup=False)
        for k, v in s.params.items():
            render.console.print(f"     {k} = {v!r}", markup=False)


def _action_summaries() -> dict[str, str]:
    import cleanup.actions  # noqa: F401 - importing the package registers every action
    from cleanup.engine.action import registry

    return {name: action.summary for name, action in registry().items()}


@app.command()
def validate(file: Path = typer.Argument(..., help="A playbook TOML file."), as_json: bool = JsonOpt) -> None:
    """Check a playbook: every problem is named with file, step and field."""
    text = read_playbook_text(file)
    errors = playbook_errors(text, str(file))
    if errors:
        output.partial({"file": str(file), "valid": False, "problems": errors})
        if not as_json:
            for line in errors[1:]:
                render.err_console.print(f"error: {line}", markup=False)
        raise PlaybookError(errors[0])
    if as_json:
        return output.answer({"file": str(file), "valid": True, "problems": []})
    render.console.print(f"{file}: valid", markup=False)
