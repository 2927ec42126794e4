"""`cleanup lab mac create | login | logout` and `cleanup lab demo`: the simulated Mac for trying things safely."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from cleanup.cli import render
from cleanup.errors import UsageError

app = typer.Typer(help="The lab: a simulated Mac and an emulated Jamf Pro + Entra + Intune to try cleanup on.", no_args_is_help=True)
mac_app = typer.Typer(help="Simulated Macs.", no_args_is_help=True)
app.add_typer(mac_app, name="mac")


def _tenant_app() -> typer.Typer:
    from cleanup.cli.lab_tenant import app as tenant_app

    return tenant_app


app.add_typer(_tenant_app(), name="tenant")


def _users(text: str | None) -> list[str] | None:
    return [u.strip() for u in text.split(",") if u.strip()] if text else None


@mac_app.command("create")
def create(
    directory: Path = typer.Argument(..., help="An empty or new folder for the simulated Mac."),
    users: str | None = typer.Option(None, "--users", help="Comma-separated short names (first one is at the console)."),
    scenario: str = typer.Option(
        "default",
        "--scenario",
        help="default, clean, no-jamf, non-removable-mdm, unsafe-username, secure-enclave, cause4-log, cause5-log, device-compliance, platform-sso.",
    ),
    logged_out: str | None = typer.Option(None, "--logged-out", help="Users who are not logged in (their keychains are locked)."),
    swift_dialog: bool = typer.Option(False, "--swift-dialog", help="Install swiftDialog (/usr/local/bin/dialog): notifications use it first."),
) -> None:
    """Build a simulated Mac: Library trees, Company Portal, the Jamf framework, keychains, fake macOS tools."""
    from cleanup.lab.simmac.builder import create_sim_mac

    try:
        info = create_sim_mac(directory, users=_users(users), scenario=scenario, logged_out=_users(logged_out), swift_dialog=swift_dialog)
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


@mac_app.command("link")
def link_tenant(directory: Path, tenant_dir: Path = typer.Argument(..., help="The folder given to `cleanup lab tenant start` (holds tenant.json).")) -> None:
    """Link a simulated Mac to a running emulated tenant: re-enrollment and the registration policy then create its new records there."""
    import json

    from cleanup.lab.simmac.tenant_link import link

    try:
        info = json.loads((tenant_dir / "tenant.json").read_text())
        link(str(directory), info["url"], info["ca_pem"])
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot link {directory} to the tenant in {tenant_dir}: {exc}") from None
    render.console.print(f"simulated Mac {directory} linked to the tenant at {info['url']}", markup=False)


@mac_app.command("psso-repair")
def psso_repair(
    directory: Path,
    user: str = typer.Option(..., "--user", help="The user who repairs it, logged in at the Mac."),
) -> None:
    """Repair Platform SSO on a simulated Mac as the user does in System Settings: a new registration with a new deviceId (and in the linked tenant)."""
    from urllib.error import URLError

    from cleanup.lab.simmac.psso_repair import repair

    try:
        done = repair(directory, user)
    except (ValueError, OSError, URLError) as exc:
        raise UsageError(f"cannot repair Platform SSO on {directory}: {exc}") from None
    where = " and in the linked tenant" if done["tenant"] else ""
    render.console.print(f"Platform SSO repaired as {done['user']}: new deviceId {done['device_id']} on the Mac{where}", markup=False)


@mac_app.command("notifications")
def notifications(
    directory: Path,
    as_json: bool = typer.Option(False, "--json", help="Print data for scripts instead of text."),
) -> None:
    """What the person at a simulated Mac was shown (swiftDialog, jamfHelper, osascript), oldest first, with their answers."""
    from cleanup.cli import output
    from cleanup.lab.simmac.tool_notify import notifications as shown

    if not (directory / ".lab" / "state.json").is_file():
        raise UsageError(f"{directory} is not a simulated Mac (no .lab/state.json)", hint="`cleanup lab mac create DIR` builds one")
    try:
        found = shown(directory)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the notifications of {directory}: {exc}") from None
    if as_json:
        return output.answer({"notifications": found})
    if not found:
        render.console.print(f"nothing was shown on {directory}", markup=False)
    for n, item in enumerate(found, 1):
        said = "no answer (timed out)" if item.get("timed_out") and not item.get("answer") else f"answered {item.get('answer')!r}"
        if item.get("timed_out") and item.get("answer"):
            said = f"timed out: {item['answer']!r} (the default button)"
        head = f"{n}. {item.get('tool')} as {item.get('as')} in {item.get('session')}'s session, timeout {item.get('timeout')} s: {said}"
        message = str(item.get("message", "")).replace("\n", "\n            ")
        body = f"   title:   {item.get('title')}\n   message: {message}\n   buttons: {' | '.join(item.get('buttons') or [])}"
        render.console.print(f"{head}\n{body}", markup=False, highlight=False)


def _set_login(directory: Path, user: str, on: bool) -> None:
    from cleanup.lab.sessions import set_logged_in

    try:
        set_logged_in(directory, user, on)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None


@app.command()
def demo(
    keep: Path | None = typer.Option(None, "--keep", help="Build the simulated Mac here and keep it (default: a temporary folder)."),
    wait_seconds: float = typer.Option(5, "--wait-seconds", help="The 30-minute wait, shortened for the demo (recorded as an override)."),
    scenario: str = typer.Option("intune-duplicates", "--scenario", help="The emulated tenant's state (`cleanup lab tenant scenarios`)."),
    jamf_version: str | None = typer.Option(
        None, "--jamf-version", help="The Jamf Pro version to emulate, e.g. 11.22.0 (default: a current one, 11.32.0; docs/jamf-versions.md)."
    ),
    persona: str = typer.Option(
        "technician",
        "--as",
        help="Whose path: helpdesk (a read-only dry-run with the read-only identities), technician (one Mac's reset), "
        "batch (a flagged group of Macs), jamf-policy (the Jamf policy script on the Mac, then the cloud half).",
    ),
) -> None:
    """Simulated Mac + emulated Jamf Pro/Entra/Intune: run all 13 Cause 6 steps live, then show what changed where.

    `--scenario device-compliance` and `--scenario platform-sso` build the Mac and the tenant of that registration model.
    `--as` tries another user's path (docs/lab.md)."""
    from cleanup.cli.lab_personas import check_persona, run_persona
    from cleanup.cli.lab_tenant import jamf_version_option
    from cleanup.lab.tenant.jamf_versions import CURRENT_VERSION

    check_persona(persona)
    if persona == "batch" and scenario != "intune-duplicates":
        raise UsageError("--scenario does not apply to --as batch: it builds a flagged fleet of its own")
    version = jamf_version_option(jamf_version) or CURRENT_VERSION
    if keep is not None:
        run_persona(persona, keep, wait_seconds, scenario, jamf_version=version)
        return
    with tempfile.TemporaryDirectory(prefix="cleanup-demo-") as tmp:
        run_persona(persona, Path(tmp), wait_seconds, scenario, jamf_version=version)
