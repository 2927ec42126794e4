"""`cleanup escrow list | show`: what step 4 saved of what Jamf Pro escrowed for a record before deleting it.

`list` never shows a value. `show` is the one command that prints saved values: after a confirmation at a terminal
(or --yes), and for escrow files only with the private key of the [escrow] recipient (--key).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import typer

from cleanup.cli import output, render
from cleanup.cli.common import ConfigOpt, JsonOpt, StateDirOpt
from cleanup.errors import UsageError

app = typer.Typer(help="What was saved of the secrets Jamf Pro escrowed (FileVault key, LAPS, Recovery Lock) before step 4.", no_args_is_help=True)

EscrowDirOpt = typer.Option(None, "--escrow-dir", help="The escrow folder (default: [escrow] dir of the config, else the state folder's escrow/).")
KINDS_HELP = "filevault, laps or recovery-lock"


def run_escrow(config: Path | None, state_dir: Path | None):
    """The escrow place a run hands to step 4 (chosen on first use: the keyring, else escrow files)."""
    from cleanup.clients.config import load_config
    from cleanup.engine.store import default_state_dir
    from cleanup.escrow import open_escrow

    return open_escrow(load_config(config), Path(os.path.realpath(state_dir or default_state_dir())))


def _folder(escrow_dir: Path | None, config: Path | None, state_dir: Path | None) -> Path:
    if escrow_dir is not None:
        return Path(escrow_dir).expanduser()
    return run_escrow(config, state_dir).folder


def _rows(folder: Path, serial: str | None, kind: str | None):
    from cleanup.escrow import KINDS
    from cleanup.escrow.index import read
    from cleanup.identifiers import valid_serial

    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind takes {KINDS_HELP}, not {kind!r}")
    serial = valid_serial(serial) if serial is not None else None
    return [r for r in read(folder) if (serial is None or r.serial == serial) and (kind is None or r.kind == kind)]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _what_of(kind: str, account: str | None) -> str:
    from cleanup.clients.wire import ESCROW_KINDS

    return ESCROW_KINDS[kind] + (f" of {account!r}" if account else "")


def _what(row) -> str:
    return _what_of(row.kind, row.account)


@app.command("list")
def list_saved(
    serial: str | None = typer.Option(None, "--serial", help="Only this Mac."),
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {KINDS_HELP}."),
    escrow_dir: Path | None = EscrowDirOpt,
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every saved secret: serial, kind, account, Jamf Pro record, run, when saved, where. Never a value."""
    folder = _folder(escrow_dir, config, state_dir)
    rows = _rows(folder, serial, kind)
    if as_json:
        return output.answer({"escrow_dir": str(folder), "saved": [r.to_json() for r in rows]})
    if not rows:
        render.console.print(f"nothing saved in {folder}", markup=False)
        return
    table = render._table("serial", "kind", "account", "record", "run", "saved", "where")
    for r in rows:
        render._row(table, r.serial, r.kind, r.account or "", r.record, r.run, _when(r.saved_at), r.where)
    render.console.print(table)


def _confirm(serial: str, rows, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("showing saved secrets needs a confirmation: run it at a terminal, or add --yes")
    kinds = ", ".join(dict.fromkeys(_what(r) for r in rows))
    if not typer.confirm(f"Print the saved secrets of Mac {serial} ({kinds}) on this terminal?", default=False):
        raise UsageError("not confirmed: nothing was shown")


def _passphrase() -> str | None:
    if not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass("Passphrase of the private key: ")


@app.command("show")
def show(
    serial: str = typer.Argument(..., help="The Mac's serial number."),
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {KINDS_HELP}."),
    key: Path | None = typer.Option(None, "--key", help="For escrow files: the private key of the [escrow] recipient (PEM)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before printing the values."),
    escrow_dir: Path | None = EscrowDirOpt,
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print the saved values of a Mac's secrets (newest last), after a confirmation at a terminal or --yes."""
    from cleanup.escrow.reveal import reveal

    folder = _folder(escrow_dir, config, state_dir)
    rows = _rows(folder, serial, kind)
    if not rows:
        raise UsageError(f"nothing saved for Mac {serial}{f' ({kind})' if kind else ''} in {folder}", hint="`cleanup escrow list` shows what was saved")
    _confirm(serial, rows, yes)
    shown = reveal(folder, rows, str(key) if key else None, _passphrase)
    if as_json:
        return output.answer({"serial": serial, "escrow_dir": str(folder), "secrets": shown})
    for s in shown:
        render.console.print(f"Mac {s['serial']}, Jamf Pro record {s['record']}, saved {_when(s['saved_at'])} by run {s['run']} ({s['store']}):", markup=False)
        render.console.print(f"   {_what_of(s['kind'], s['account'])}: {s['value']}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="escrow")
