"""The command line: thin Typer commands that build a context, call the engine and map errors to exit codes."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any

import typer
import typer.main

import cleanup.actions  # noqa: F401 - registers every action with the engine, once
from cleanup import __version__
from cleanup.cli import common, output
from cleanup.errors import CleanupError, Paused

app = typer.Typer(
    name="cleanup",
    help="Repair a Mac's Jamf Pro / Intune / Entra ID registration: Microsoft's Cause 6 reset as a resumable playbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"cleanup {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Tracebacks on errors."),
) -> None:
    common.VERBOSE = verbose


def _register() -> None:
    from cleanup.cli import agent, batch, creds, diagnose, lab, playbooks, runs

    runs.register(app)
    diagnose.register(app)
    agent.register(app)  # `cleanup host-agent` (hidden): the Mac's end of --host ssh://
    batch.register(app)
    from cleanup.cli import restore  # `cleanup restore RUN`

    restore.register(app)
    from cleanup.cli import repair  # `cleanup repair`: the lightest fix first

    repair.register(app)
    app.add_typer(creds.app, name="creds")
    from cleanup.cli import escrow

    escrow.register(app)  # `cleanup escrow list | show`
    app.add_typer(playbooks.app, name="playbooks")
    app.add_typer(lab.app, name="lab")


_register()


@functools.cache
def command() -> Callable[..., Any]:
    """The click command Typer builds from ``app``: built once per process (~70 ms), so that a process that runs
    several commands (the tests' fork server) builds it once."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: Typer reports its own usage errors (status 2); ours become one line and an exit code, and, with
    --json, the envelope with ``errors`` on stdout."""
    reply = output.begin()
    try:
        command()(args=argv, prog_name="cleanup")
    except CleanupError as exc:
        paused = isinstance(exc, Paused)
        if common.VERBOSE and not paused:
            traceback.print_exc()
        output.answer_error(reply, exc, exc.exit_code)
        common.err(exc.message, hint=None if paused else exc.hint, prefix="paused: " if paused else "error: ")
        sys.exit(exc.exit_code)
