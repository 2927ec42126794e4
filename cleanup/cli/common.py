"""Options and helpers shared by the commands."""

from __future__ import annotations

from pathlib import Path

import typer

from cleanup.cli import output
from cleanup.cli.render import err_console

VERBOSE = False

HostOpt = typer.Option(
    None,
    "--host",
    help="Where the Mac is: local (this Mac, the default), ssh://user@mac[:port] (a Mac with cleanup installed, "
    "or a Python 3.11+ and --push-agent, over SSH), sim:DIR (a simulated Mac), none (no Mac; the default with --only cloud).",
)
PushAgentOpt = typer.Option(
    False,
    "--push-agent",
    envvar="CLEANUP_PUSH_AGENT",
    help="With --host ssh://: when the Mac has no cleanup of this version, push this one's device-side artifact for the run "
    "(a private temporary folder, checked by SHA-256, removed afterwards; docs/deploy.md).",
)
ConfigOpt = typer.Option(
    None, "--config", envvar="CLEANUP_CONFIG", help="Config file (Jamf Pro URL, tenant, client ids; default: the platform's config folder)."
)
PlaybookOpt = typer.Option("cause6", "--playbook", "-p", help="Playbook name or TOML file.")
StateDirOpt = typer.Option(None, "--state-dir", envvar="CLEANUP_STATE_DIR", help="Where runs are checkpointed.")


def _json_mode(ctx: typer.Context, value: bool) -> bool:
    return output.use_json(ctx, value)


JsonOpt = typer.Option(False, "--json", callback=_json_mode, help="Print data for scripts instead of text (docs/json.md).")


def err(message: str, hint: str | None = None, prefix: str = "error: ") -> None:
    err_console.print(f"{prefix}{message}", markup=False, highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"hint: {hint}", markup=False, highlight=False, soft_wrap=True)


def state_store(state_dir: Path | None):
    from cleanup.engine.store import StateStore, default_state_dir

    return StateStore(state_dir or default_state_dir())


def host_spec(host: str | None, only: str | None) -> str:
    return host or ("none" if only == "cloud" else "local")


def cloud_opener(config: Path | None):
    """Opens the Jamf Pro / Graph connection on first use; None when nothing is configured."""
    from cleanup.clients.config import load_config

    cfg = load_config(config)  # a broken config file is an error now, not halfway through a run
    if not (cfg.jamf_configured() or cfg.graph_configured()):
        return None

    def opener():
        try:
            from cleanup.clients.session import open_session
        except ModuleNotFoundError as exc:  # the device-side artifact has no cloud stack: one line, before any run is recorded
            from cleanup.standalone import missing_part

            raise (missing_part(exc) or exc) from None

        return open_session(cfg)

    return opener
