"""`cleanup lab tenant start | scenarios`: the emulated Jamf Pro + Entra + Graph tenant in the foreground."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

import typer

from cleanup.cli import render
from cleanup.errors import UsageError

app = typer.Typer(
    help="The emulated tenant: Jamf Pro, Entra ID and Graph/Intune on one local HTTPS port.", no_args_is_help=True, pretty_exceptions_enable=False
)


@app.command("scenarios")
def scenarios() -> None:
    """List the tenant scenarios."""
    from cleanup.lab.tenant.scenarios import SCENARIOS

    width = max(map(len, SCENARIOS))
    for name, text in SCENARIOS.items():
        render.console.print(f"{name:<{width}}  {text}", markup=False)


def jamf_version_option(text: str | None):
    """The ``--jamf-version`` of `lab tenant start` and `lab demo` (None: the emulator's default)."""
    if text is None:
        return None
    from cleanup.lab.tenant.jamf_versions import VersionError, parse

    try:
        return parse(text)
    except VersionError as exc:
        raise UsageError(f"--jamf-version: {exc}") from None


def _rate(value: float, option: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{option} must be between 0 and 1, not {value}")
    return value


@app.command("start")
def start(
    directory: Path = typer.Argument(..., help="Folder for the TLS files and the client files (config.toml, secrets.env)."),
    scenario: str = typer.Option("clean", "--scenario", help="Seeded state (`cleanup lab tenant scenarios`)."),
    port: int = typer.Option(0, "--port", help="TCP port on 127.0.0.1 (0: any free port)."),
    latency_ms: float = typer.Option(0, "--latency-ms", help="Added to every response."),
    rate_429: float = typer.Option(0.0, "--rate-429", help="Share of API requests answered 429 with Retry-After."),
    rate_5xx: float = typer.Option(0.0, "--rate-5xx", help="Share of API requests answered 500/502/503."),
    drop_rate: float = typer.Option(0.0, "--drop-rate", help="Share of API requests whose connection is dropped."),
    token_lifetime: int | None = typer.Option(None, "--token-lifetime", help="Seconds every Graph and Jamf token lives."),
    consistency_delay: float = typer.Option(0.0, "--consistency-delay", help="Seconds a deleted object stays in lists."),
    ignore_managed_filter: bool = typer.Option(False, "--ignore-managed-filter", help="Intune ignores $filter (returns every device)."),
    serial: str | None = typer.Option(None, "--serial", help="The simulated Mac's serial number."),
    name: str | None = typer.Option(None, "--name", help="The simulated Mac's computer name."),
    device_id: list[str] | None = typer.Option(None, "--device-id", help="Entra deviceId on the Mac (repeatable; first = current)."),
    user_upn: str | None = typer.Option(None, "--user-upn", help="The Mac user's UPN."),
    jamf_version: str | None = typer.Option(
        None, "--jamf-version", help="The Jamf Pro version to emulate, e.g. 11.30.0 (default: the lab's; which routes each serves: docs/jamf-versions.md)."
    ),
) -> None:
    """Run the tenant until Ctrl-C, after writing the client files into DIR."""
    from cleanup.lab.tenant import SCENARIOS, Faults, MacIdentity, start_tenant
    from cleanup.lab.tenant.jamf_versions import text_of

    if scenario not in SCENARIOS:
        raise UsageError(f"unknown tenant scenario '{scenario}' (known: {', '.join(SCENARIOS)})")
    version = jamf_version_option(jamf_version)
    if token_lifetime is not None and token_lifetime < 1:
        raise UsageError(f"--token-lifetime must be at least 1 second, not {token_lifetime}")
    faults = Faults(
        latency_ms=latency_ms,
        rate_429=_rate(rate_429, "--rate-429"),
        rate_5xx=_rate(rate_5xx, "--rate-5xx"),
        drop_rate=_rate(drop_rate, "--drop-rate"),
        consistency_delay=consistency_delay,
        ignore_managed_filter=ignore_managed_filter,
    )
    if token_lifetime is not None:
        faults.graph_token_lifetime = faults.jamf_token_lifetime = faults.jamf_user_token_lifetime = token_lifetime
    mac = MacIdentity()
    mac.serial = serial or mac.serial
    mac.name = name or mac.name
    mac.user_upn = user_upn or mac.user_upn
    mac.device_ids = list(device_id or [])
    try:
        server = start_tenant(directory, scenario, mac=mac, faults=faults, port=port, jamf_version=version)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    try:
        server.write_client_files(directory)
        config = shlex.quote(str((directory / "config.toml").resolve()))
        secrets_env = shlex.quote(str((directory / "secrets.env").resolve()))
        out = render.console
        out.print(f"tenant listening on {server.url} (scenario {scenario}: {SCENARIOS[scenario]})", markup=False)
        out.print(f"Jamf Pro {text_of(server.jamf_version)}", markup=False)
        out.print(f"Mac {mac.serial} ({mac.name}), Entra deviceId {mac.device_ids[0]}", markup=False)
        out.print(f"CA bundle: {server.ca_pem}", markup=False)
        out.print("use it from another shell:", markup=False)
        out.print(f"  export CLEANUP_CONFIG={config}; set -a; . {secrets_env}; set +a", markup=False)
        out.print("Ctrl-C stops it.", markup=False)
        threading.Event().wait()
    except KeyboardInterrupt:
        render.console.print("tenant stopped", markup=False)
    finally:
        server.stop()
