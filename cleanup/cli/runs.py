"""`cleanup plan | run | resume | status`."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from cleanup.cli import output, render
from cleanup.cli.common import (
    ConfigOpt,
    HostOpt,
    JsonOpt,
    PlaybookOpt,
    PushAgentOpt,
    StateDirOpt,
    cloud_opener,
    host_spec,
    state_store,
)
from cleanup.cli.reporter import ConsoleReporter
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook, parse_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.errors import CleanupError, Paused, SafetyRefusal, StateError, UsageError
from cleanup.hosts import open_host
from cleanup.hosts.notify import Options as NotifyOptions

OnlyOpt = typer.Option(None, "--only", help="Limit to device or cloud steps (operator steps such as the wait stay).")
FromOpt = typer.Option(None, "--from", help="First step (id or article number).")
ToOpt = typer.Option(None, "--to", help="Last step (id or article number).")
SkipOpt = typer.Option([], "--skip", help="Mark a step skipped (explicit, recorded in the state and audit log). Repeatable.")
WaitOpt = typer.Option(None, "--wait-seconds", help="Override the playbook's wait, 0 to 604800 (7 days); explicit, recorded in the state and audit log.")
MAX_WAIT_SECONDS = 7 * 24 * 3600
NoWaitOpt = typer.Option(False, "--no-wait", help="Do not wait: exit with status 3 and the time to resume at.")
YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask before destructive steps.")
SerialOpt = typer.Option(None, "--serial", help="The serial number the Mac must have (refuses any other Mac).")
JamfPickOpt = typer.Option([], "--jamf-record", help="When several Jamf Pro records share the serial: the id to delete (repeatable, recorded).")
EntraPickOpt = typer.Option([], "--entra-device", help="When several Entra devices match: the object id to delete (repeatable, recorded).")
AutoOpt = typer.Option(True, "--autoresume/--no-autoresume", help="On this Mac, install a one-shot LaunchDaemon that resumes after the restart.")
NotifyOpt = typer.Option(
    None,
    "--notify",
    help="Tell the person at the Mac before the restart, when someone must log in and when they must register or repair: "
    "auto (swiftDialog, else jamfHelper, else osascript; the default) or none. Recorded with the run; resume keeps it.",
)
NotifyTextOpt = typer.Option(
    [],
    "--notify-text",
    help="KIND=TEXT: what a notification says (KIND: title, restart, login, register, psso-repair; {user} and {how} are filled in). "
    "Repeatable; overrides the playbook's notify table; recorded with the run.",
)
DeferralsOpt = typer.Option(None, "--deferrals", help="How often the user may defer the restart, 0-20 (default: the playbook's notify.deferrals, else 0).")
DiscardOpt = typer.Option(
    False,
    "--discard-escrowed-secrets",
    help="Delete Jamf Pro records without saving what they escrowed (FileVault key, LAPS passwords, Recovery Lock password); "
    "explicit, recorded in the state and audit log.",
)


def _selection(only: str | None, start: str | None, stop: str | None) -> Selection:
    if only not in (None, "device", "cloud"):
        raise UsageError(f"--only takes device or cloud, not {only!r}")
    return Selection(only, start, stop)


def _wait_seconds(seconds: float | None) -> float | None:
    """--wait-seconds, checked before any run is created (inf or 1e308 would overflow deep inside the run)."""
    if seconds is not None and not (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT_SECONDS):
        raise UsageError(f"--wait-seconds takes 0 to {MAX_WAIT_SECONDS} seconds (7 days), not {seconds!r}")
    return seconds


def _finish(runner: Runner, go, as_json: bool, run_id: str | None = None) -> None:
    """Run ``go()``; with --json the envelope carries the run's state whether it finished, paused or failed."""
    try:
        run = go()
    except CleanupError:
        rid = runner.run_id or run_id  # the run start() created, even when it then paused or failed
        if as_json and rid:
            _partial_state(runner.store, rid)
        raise
    if as_json:
        output.answer(run.to_json())
    else:
        render.console.print(f"[bold green]run {render.lit(run.run_id)}: done[/]")


def _partial_state(store, rid: str) -> None:
    try:
        output.partial(store.load(rid)[0].to_json())
    except CleanupError:
        pass  # the failure itself is what the envelope reports


def _notify(mode: str | None, texts: list[str], deferrals: int | None, recorded: NotifyOptions | None = None) -> NotifyOptions:
    """--notify, --notify-text and --deferrals over what the run recorded (resume) or the defaults (run)."""
    try:
        return (recorded or NotifyOptions()).overridden(mode, texts, deferrals)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _recorded_notify(state) -> NotifyOptions | None:
    """The notification choices the run's steps recorded (the latest step's), None when none did (an older run)."""
    found = None
    for st in state.steps:
        if "notify" in st.data:
            try:
                found = NotifyOptions.from_json(st.data["notify"])
            except ValueError as exc:
                raise StateError(f"run {state.run_id}: step {st.id}: data.notify {exc}; nothing was run") from None
    return found


def _choices(jamf: list[str], entra: list[str]) -> dict[str, list[str]]:
    from cleanup.identifiers import valid_guid

    for i in jamf:
        if not i.isdigit():
            raise UsageError(f"--jamf-record {i!r}: a Jamf Pro computer id is a number")
    return {k: v for k, v in (("jamf", list(jamf)), ("entra", [valid_guid(e) for e in entra])) if v}


def plan(
    playbook: str = PlaybookOpt,
    host: str | None = HostOpt,
    only: str | None = OnlyOpt,
    start: str | None = FromOpt,
    stop: str | None = ToOpt,
    serial: str | None = SerialOpt,
    jamf_record: list[str] = JamfPickOpt,
    entra_device: list[str] = EntraPickOpt,
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
    push_agent: bool = PushAgentOpt,
) -> None:
    """Dry-run: print exactly what the playbook would remove on the Mac and in each cloud, changing nothing."""
    from cleanup.identifiers import valid_serial

    pb = load_playbook(playbook)
    selection = _selection(only, start, stop)
    options = RunOptions(dry_run=True, serial=serial and valid_serial(serial), choices=_choices(jamf_record, entra_device), escrow=_escrow(config, None))
    report = Runner(None, open_host(host_spec(host, only), push_agent=push_agent), pb, options, cloud_opener=cloud_opener(config)).plan(selection)
    data = render.dry_run_json(report) if as_json else None
    if not as_json:
        render.print_dry_run(report)
    if report.refusals:
        output.partial(data)
        raise SafetyRefusal(f"{len(report.refusals)} ambiguity(ies): a run would refuse until you choose (see above)")
    if as_json:
        output.answer(data)


def run(
    playbook: str = PlaybookOpt,
    host: str | None = HostOpt,
    only: str | None = OnlyOpt,
    start: str | None = FromOpt,
    stop: str | None = ToOpt,
    jamf_record: list[str] = JamfPickOpt,
    entra_device: list[str] = EntraPickOpt,
    config: Path | None = ConfigOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Same as `cleanup plan`."),
    yes: bool = YesOpt,
    serial: str | None = SerialOpt,
    skip: list[str] = SkipOpt,
    wait_seconds: float | None = WaitOpt,
    no_wait: bool = NoWaitOpt,
    autoresume: bool = AutoOpt,
    discard_escrowed_secrets: bool = DiscardOpt,
    notify: str | None = NotifyOpt,
    notify_text: list[str] = NotifyTextOpt,
    deferrals: int | None = DeferralsOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
    push_agent: bool = PushAgentOpt,
) -> None:
    """Run the playbook on a Mac, checkpointing every step (resume with `cleanup resume`)."""
    wait_seconds = _wait_seconds(wait_seconds)
    notify_options = _notify(notify, notify_text, deferrals)
    if dry_run:
        return plan(playbook, host, only, start, stop, serial, jamf_record, entra_device, config, as_json, push_agent)
    from cleanup.identifiers import valid_serial

    pb = load_playbook(playbook)
    selection = _selection(only, start, stop)
    for ref in skip:
        pb.step(ref)
    options = RunOptions(
        yes=yes,
        no_wait=no_wait,
        wait_seconds=wait_seconds,
        autoresume=autoresume,
        serial=serial and valid_serial(serial),
        choices=_choices(jamf_record, entra_device),
        escrow=_escrow(config, state_dir),
        discard_escrowed_secrets=discard_escrowed_secrets,
        notify=notify_options,
    )
    opener = cloud_opener(config)
    the_host = open_host(host_spec(host, only), push_agent=push_agent)
    if the_host.device and not yes and not serial and not _confirm_target(the_host):
        raise UsageError("the target Mac is not confirmed: give --serial SN (or --yes) when no one can answer at a terminal")
    runner = Runner(state_store(state_dir), the_host, pb, options, ConsoleReporter(quiet=as_json), cloud_opener=opener)
    _finish(runner, lambda: runner.start(selection, skip), as_json)


def _escrow(config: Path | None, state_dir: Path | None):
    """Where step 4 saves what a Jamf Pro record escrowed (cleanup.escrow; chosen on first use)."""
    from cleanup.cli.escrow import run_escrow

    return run_escrow(config, state_dir)


def _confirm_target(host) -> bool:
    import sys

    from cleanup.hosts import probes

    if not sys.stdin.isatty():
        return False
    serial = probes.serial_number(host)
    name = probes.check(host, [probes.SCUTIL, "--get", "ComputerName"]).stdout.strip()
    return typer.confirm(f"Reset Mac {serial} ({name}) on {host.spec}?", default=False)


def _named_run(state_dir, run_id, latest: bool, verb: str):
    """The store, the run id and its loaded state and playbook text, for commands that act on one run."""
    store = state_store(state_dir)
    if not run_id and not latest:
        raise UsageError(f"name the run to {verb}, or use --latest", hint="`cleanup status` lists the runs")
    rid = run_id or latest_run(store)
    state, text = store.load(rid)
    return store, rid, state, text


def latest_run(store) -> str:
    """What --latest means to a user: the run started last in this state folder, whatever its Mac. Never a way to
    find the run a command has just started (the runner says which one that is)."""
    return store.latest()


def resume(
    run_id: str | None = typer.Argument(None, help="The run to continue (see `cleanup status`)."),
    latest: bool = typer.Option(False, "--latest", help="Continue the run started last in this state folder."),
    host: str | None = typer.Option(None, "--host", help="Where the Mac is (default: where the run started)."),
    yes: bool = YesOpt,
    skip: list[str] = SkipOpt,
    wait_seconds: float | None = WaitOpt,
    no_wait: bool = NoWaitOpt,
    autoresume: bool = AutoOpt,
    discard_escrowed_secrets: bool = DiscardOpt,
    notify: str | None = NotifyOpt,
    notify_text: list[str] = NotifyTextOpt,
    deferrals: int | None = DeferralsOpt,
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
    push_agent: bool = PushAgentOpt,
) -> None:
    """Continue a run at its first step that is not done (a half-done step is planned again)."""
    wait_seconds = _wait_seconds(wait_seconds)
    _notify(notify, notify_text, deferrals)  # bad input is refused before the run is even read
    store, rid, state, text = _named_run(state_dir, run_id, latest, "resume")
    pb = parse_playbook(text, source=f"run {rid}")
    for ref in skip:
        pb.step(ref)
    options = RunOptions(
        yes=yes or bool(state.options.get("yes")),
        no_wait=no_wait,
        wait_seconds=wait_seconds if wait_seconds is not None else state.options.get("wait_seconds"),
        autoresume=autoresume and bool(state.options.get("autoresume", True)),
        serial=state.serial,
        choices=dict(state.options.get("choices") or {}),
        escrow=_escrow(config, state_dir),
        discard_escrowed_secrets=discard_escrowed_secrets or any(o.get("kind") == "discard-escrowed-secrets" for o in state.overrides),
        notify=_notify(notify, notify_text, deferrals, _recorded_notify(state)),
    )
    runner = Runner(store, open_host(host or state.host, push_agent=push_agent), pb, options, ConsoleReporter(quiet=as_json), cloud_opener=cloud_opener(config))
    _finish(runner, lambda: runner.resume(rid, skip), as_json, rid)


def abandon(
    run_id: str = typer.Argument(..., help="The unfinished run to give up (see `cleanup status`)."),
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Give up an unfinished run on purpose (recorded in its audit log): it cannot be resumed, and `cleanup run` may
    start the Mac again from step 0, reading its facts anew."""
    run = state_store(state_dir).abandon(run_id)
    if as_json:
        return output.answer(run.to_json())
    render.console.print(f"run {run.run_id}: abandoned (Mac {run.serial}); `cleanup run` may start a new one", markup=False)


def verify(
    run_id: str | None = typer.Argument(None, help="The run whose Mac to check (see `cleanup status`)."),
    latest: bool = typer.Option(False, "--latest", help="The run started last in this state folder."),
    config: Path | None = ConfigOpt,
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Check again that Jamf Pro, Entra and Intune each have the Mac's new registration (exit 0 verified, 3 not yet)."""
    from cleanup.actions.recorded import cloud_facts
    from cleanup.actions.verify import check_registration, model_checked, psso_from_record, psso_record
    from cleanup.engine.context import RunContext

    _, rid, state, _ = _named_run(state_dir, run_id, latest, "verify")
    opener = cloud_opener(config)
    ctx = RunContext(host=open_host("none"), options=RunOptions(dry_run=True), facts=state.facts, cloud_opener=opener)
    try:
        facts = cloud_facts(ctx)
        # no Mac here: a Platform SSO registration is what the run's repair step recorded
        psso = psso_from_record(psso_record(state.steps)) if model_checked(facts) == "platform-sso" else None
        result = check_registration(ctx.cloud, facts, psso)
    finally:
        ctx.close_cloud()
    data = {"run_id": rid, "serial": state.serial, **result.to_json()}
    if not as_json:
        render.console.print(f"Mac {state.serial} ({state.computer_name}): {result.summary()}", markup=False)
    if not result.verified:
        output.partial(data)
        raise Paused(f"registration of {state.serial} not verified yet")
    if not result.fully_verified:
        output.partial(data)
        raise Paused(f"registration of {state.serial} verified, but not fully: " + "; ".join(result.warnings))
    if as_json:
        output.answer(data)


def status(
    run_id: str | None = typer.Argument(None, help="A run id; without it, every run."),
    latest: bool = typer.Option(False, "--latest", help="The run started last in this state folder."),
    state_dir: Path | None = StateDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show each step's state, timings and outcome."""
    store = state_store(state_dir)
    if run_id or latest:
        return _status_of(store, run_id or latest_run(store), as_json)
    runs, damaged = [], []
    for rid in store.run_ids():
        try:
            runs.append(store.load(rid)[0])
        except StateError as exc:  # one damaged run must not hide the others
            damaged.append({"run_id": rid, "error": exc.message})
    if as_json:
        return output.answer({"runs": [r.to_json() for r in runs], "damaged": damaged})
    if not runs and not damaged:
        render.console.print(f"no runs in {store.root}", markup=False)
        return
    render.print_runs(runs)
    for d in damaged:
        render.err_console.print(f"damaged: {d['error']}", markup=False)


def _status_of(store, rid: str, as_json: bool) -> None:
    state, text = store.load(rid)
    if as_json:
        return output.answer(state.to_json())
    pb = parse_playbook(text, source=f"run {rid}")
    render.print_status(state, {s.id: (s.number, s.title) for s in pb.steps})


def register(app: typer.Typer) -> None:
    app.command()(plan)
    app.command()(run)
    app.command()(resume)
    app.command()(abandon)
    app.command()(status)
    app.command()(verify)
    from cleanup.cli.deleted import show  # `cleanup show RUN [--deleted]`

    app.command("show")(show)
