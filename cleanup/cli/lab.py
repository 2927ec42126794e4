"""`cleanup lab mac create | login | logout` and `cleanup lab demo`: the simulated Mac for trying things safely."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import typer

from cleanup.cli import render
from cleanup.errors import UsageError

app = typer.Typer(help="The lab: a simulated Mac to try cleanup on.", no_args_is_help=True)
mac_app = typer.Typer(help="Simulated Macs.", no_args_is_help=True)
app.add_typer(mac_app, name="mac")


def _users(text: str | None) -> list[str] | None:
    return [u.strip() for u in text.split(",") if u.strip()] if text else None


@mac_app.command("create")
def create(
    directory: Path = typer.Argument(..., help="An empty or new folder for the simulated Mac."),
    users: Optional[str] = typer.Option(None, "--users", help="Comma-separated short names (first one is at the console)."),
    scenario: str = typer.Option("default", "--scenario", help="default, clean, no-jamf, non-removable-mdm, unsafe-username, secure-enclave."),
    logged_out: Optional[str] = typer.Option(None, "--logged-out", help="Users who are not logged in (their keychains are locked)."),
) -> None:
    """Build a simulated Mac: Library trees, Company Portal, the Jamf framework, keychains, fake macOS tools."""
    from cleanup.lab.simmac.builder import create_sim_mac

    try:
        info = create_sim_mac(directory, users=_users(users), scenario=scenario, logged_out=_users(logged_out))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    render.console.print(f"simulated Mac {info.get('serial')} in {directory}: --host sim:{directory}", markup=False)


@mac_app.command("login")
def login(directory: Path, user: str) -> None:
    """Log a user in on a simulated Mac (unlocks their login keychain)."""
    _set_login(directory, user, True)


@mac_app.command("logout")
def logout(directory: Path, user: str) -> None:
    """Log a user out on a simulated Mac (locks their login keychain)."""
    _set_login(directory, user, False)


def _set_login(directory: Path, user: str, on: bool) -> None:
    from cleanup.lab.sessions import set_logged_in

    try:
        set_logged_in(directory, user, on)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None


@app.command()
def demo(
    keep: Optional[Path] = typer.Option(None, "--keep", help="Build the simulated Mac here and keep it (default: a temporary folder)."),
    wait_seconds: float = typer.Option(5, "--wait-seconds", help="The 30-minute wait, shortened for the demo (recorded as an override)."),
) -> None:
    """Create a simulated Mac and run the device-side Cause 6 reset on it, live, then show what was removed and kept."""
    from cleanup.lab.demo import run_demo

    if keep is not None:
        run_demo(keep, wait_seconds)
        return
    with tempfile.TemporaryDirectory(prefix="cleanup-demo-") as tmp:
        run_demo(Path(tmp), wait_seconds)
