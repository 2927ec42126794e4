"""`cleanup host-agent`: the Mac's end of `--host ssh://…` (started by ssh, not by people)."""

from __future__ import annotations

from pathlib import Path

import typer


def host_agent(
    root: Path = typer.Option(Path("/"), "--root", help="The Mac's root: / (this Mac) or a simulated Mac's folder."),
) -> None:
    """Serve this Mac to a remote `cleanup --host ssh://…` over stdin/stdout (JSON lines)."""
    from cleanup.hosts.ssh.agent import serve

    raise typer.Exit(serve(str(root)))


def register(app: typer.Typer) -> None:
    app.command("host-agent", hidden=True)(host_agent)
