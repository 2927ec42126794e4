"""`cleanup repair`: the lightest fix first, climbing to the full reset only when the lighter rungs do not verify
(cleanup/repair, docs/repair.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cleanup.cli import output, render
from cleanup.cli.common import ConfigOpt, HostOpt, JsonOpt, PushAgentOpt, StateDirOpt, cloud_opener, host_spec, state_store
from cleanup.cli.reporter import ConsoleReporter
from cleanup.cli.runs import (
    AutoOpt,
    DeferralsOpt,
    NotifyOpt,
    NotifyTextOpt,
    NoWaitOpt,
    SerialOpt,
    WaitOpt,
    _notify,
    _recorded_notify,
    _wait_seconds,
)
from cleanup.errors import CleanupError, SafetyRefusal

RUNGS = "register, jamf-manage, psso-repair, cause6"


def _ask(text: str) -> bool | None:
    """The full reset's confirmation: the operator's answer at a terminal, None when nobody can answer."""
    if not sys.stdin.isatty():
        return None
    return typer.confirm(text, default=False, err=True)


def repair(
    host: str | None = HostOpt,
    serial: str | None = SerialOpt,
    only: str | None = typer.Option(None, "--only", help="device: the Mac alone, no cloud at all (a Jamf policy: no API secret on the Mac)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the diagnosis, the rung it would run and why, and that rung's plan; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before the full reset (the last rung) or its destructive steps."),
    max_rung: str | None = typer.Option(None, "--max-rung", help=f"Climb no higher than this rung ({RUNGS}, lightest first)."),
    wait_seconds: float | None = WaitOpt,
    no_wait: bool = NoWaitOpt,
    autoresume: bool = AutoOpt,
    notify: str | None = NotifyOpt,
    notify_text: list[str] = NotifyTextOpt,
    deferrals: int | None = DeferralsOpt,
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
    push_agent: bool = PushAgentOpt,
) -> None:
    """Repair the Mac's registration with the lightest fix that can work, and climb only when it does not verify.

    Reads the diagnosis (device only without a cloud configuration or with --only device), picks the lightest rung
    that fixes what it found (register, jamf-manage, psso-repair, then the full Cause 6 reset, which asks first), runs
    it as a run of its own (checkpointed; `cleanup status` shows it), verifies it, and climbs one rung when the
    verification fails. A paused rung (the user's Platform SSO Repair, a registration the user must finish) is
    continued by `cleanup repair` again. Exit status 0 done and verified, 1 failed, 3 paused, 4 refused.
    """
    from cleanup.cli.escrow import run_escrow
    from cleanup.hosts import open_host
    from cleanup.identifiers import valid_serial
    from cleanup.repair import Repair, RepairOptions

    options = RepairOptions(
        only=only,
        dry_run=dry_run,
        yes=yes,
        no_wait=no_wait,
        wait_seconds=_wait_seconds(wait_seconds),
        autoresume=autoresume,
        serial=serial and valid_serial(serial),
        max_rung=max_rung,
    )
    told = _notify(notify, notify_text, deferrals)  # bad input is refused before anything is read

    def notify_for(state):
        """A new rung's run: what the command line says; a resumed one: that over what the run recorded."""
        return told if state is None else _notify(notify, notify_text, deferrals, _recorded_notify(state))

    opener = cloud_opener(config) if only != "device" else None
    job = Repair(
        state_store(state_dir),
        open_host(host_spec(host, None), push_agent=push_agent),
        options,
        cloud_opener=opener,
        escrow=run_escrow(config, None if dry_run else state_dir),
        reporter=ConsoleReporter(quiet=as_json),
        say=(lambda text: None) if as_json else (lambda text: render.console.print(text, markup=False)),
        ask=_ask,
        notify=notify_for,
    )
    try:
        result = job.plan() if dry_run else job.run()
    except CleanupError:
        output.partial(job.snapshot())
        raise
    data = result.to_json()
    if result.plan is not None:
        data["plan"] = render.dry_run_json(result.plan)
        if not as_json:
            render.print_dry_run(result.plan)
        if result.plan.refusals:
            output.partial(data)
            raise SafetyRefusal(
                f"{len(result.plan.refusals)} ambiguity(ies): rung {result.choice.rung.name if result.choice and result.choice.rung else '?'} would refuse"
            )
    if as_json:
        return output.answer(data)
    render.console.print(f"repair of Mac {result.serial}: {result.message or result.status}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("repair")(repair)
