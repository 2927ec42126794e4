"""Options and helpers shared by the commands."""

from __future__ import annotations

from pathlib import Path

import typer

from cleanup.cli.render import err_console

VERBOSE = False

HostOpt = typer.Option("local", "--host", help="Where the Mac is: local (this Mac) or sim:DIR (a simulated Mac).")
PlaybookOpt = typer.Option("cause6", "--playbook", "-p", help="Playbook name or TOML file.")
StateDirOpt = typer.Option(None, "--state-dir", envvar="CLEANUP_STATE_DIR", help="Where runs are checkpointed.")
JsonOpt = typer.Option(False, "--json", help="Print data for scripts instead of text.")


def err(message: str, hint: str | None = None, prefix: str = "error: ") -> None:
    err_console.print(f"{prefix}{message}", markup=False, highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"hint: {hint}", markup=False, highlight=False, soft_wrap=True)


def state_store(state_dir: Path | None):
    from cleanup.engine.store import StateStore, default_state_dir

    return StateStore(state_dir or default_state_dir())
