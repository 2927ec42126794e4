"""`cleanup diagnose --serial SN [--host …]`: the article's troubleshooting table as read-only checks."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cleanup.cli import output, render
from cleanup.cli.common import ConfigOpt, HostOpt, JsonOpt, PushAgentOpt, cloud_opener
from cleanup.errors import EXIT_PAUSED, UsageError

STYLE = {"ok": "green", "problem": "bold red", "unknown": "yellow", "n/a": "dim"}
STATUSES = ("ok", "problem", "unknown", "n/a")
#: the models' short names in the table's "applies to" column
MODEL_LABEL = {"legacy": "legacy", "device-compliance": "DC", "platform-sso": "PSSO"}
PLAYBOOK_HINT = {
    "cause6": "cleanup plan --serial {serial}",
    "duplicates": "cleanup plan --playbook duplicates --only cloud --serial {serial}",
}


def diagnose(
    serial: str | None = typer.Option(None, "--serial", help="The Mac's serial number (default: the serial of --host)."),
    host: str | None = HostOpt,
    push_agent: bool = PushAgentOpt,
    config: Path | None = ConfigOpt,
    jamf_app_id: str | None = typer.Option(
        None, "--jamf-app-id", envvar="CLEANUP_JAMF_APP_ID", help="Application (client) id of the Jamf Pro app in Entra (default: the app named 'Jamf Pro…')."
    ),
    fail_on_problem: bool = typer.Option(False, "--fail-on-problem", help="Exit with status 3 when a check finds a problem."),
    as_json: bool = JsonOpt,
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="text (the default), json (as --json) or jamf-ea: one `<result>…</result>` line for a Jamf Pro extension attribute "
        "(the Mac only, read-only, never the cloud; always exit 0; docs/jamf.md).",
    ),
) -> None:
    """Check each row of Microsoft's Jamf/Intune troubleshooting table that can be checked for one Mac.

    Read-only. Prints symptom, status (ok, problem, unknown, n/a), likely cause, the article's remedy and the
    playbook that fixes it, with the evidence (ids, timestamps) underneath. A check that cannot run (no
    permission, no Mac, no configuration) is "unknown" and says why; one that does not apply to the Mac's
    registration model (legacy, Device Compliance, Platform SSO) is "n/a" and says why. Exit status 0 whenever
    the diagnosis itself ran; with --fail-on-problem, 3 when any check found a problem.
    """
    if fmt == "jamf-ea":
        return jamf_ea(host, serial, as_json or fail_on_problem)
    if fmt not in (None, "text", "json"):
        raise UsageError(f"--format takes text, json or jamf-ea, not {fmt!r}")
    if fmt == "text" and as_json:
        raise UsageError("--json is --format json; give one of them")
    if fmt == "json" and not as_json:
        as_json = True
        output.reply().command = "diagnose"  # what --json's callback does: the envelope, errors included
    from cleanup.diagnose import PROBLEM, diagnose_mac
    from cleanup.hosts import open_host
    from cleanup.identifiers import valid_guid, valid_serial

    if serial is not None:
        valid_serial(serial)  # before the Mac or any service is asked anything
    if jamf_app_id is not None:
        valid_guid(jamf_app_id)
    opener = cloud_opener(config)
    the_host = open_host(host or "local", push_agent=push_agent)
    cloud = opener() if opener else None
    try:
        result = diagnose_mac(serial, the_host if the_host.device else None, cloud, jamf_app_id=jamf_app_id)
    finally:
        if cloud is not None:
            cloud.close()
    checks, serial = result.checks, result.serial
    code = EXIT_PAUSED if fail_on_problem and any(c.status == PROBLEM for c in checks) else 0
    if as_json:
        output.answer(report_json(checks, serial, the_host.spec), exit_code=code)
    else:
        print_report(checks, serial, the_host.spec)
    if code:
        raise typer.Exit(code)


def jamf_ea(host: str | None, serial: str | None, other_format: bool) -> None:
    """The extension attribute's one line on stdout, exit 0 (an error is its ``Unknown: …``); no config is read."""
    from cleanup.diagnose.ea import UNKNOWN, result_line

    if other_format:
        line = f"<result>{UNKNOWN}: --json and --fail-on-problem do not apply to --format jamf-ea</result>"
    else:
        line = result_line(host or "local", serial)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def report_json(checks, serial: str, host: str) -> dict:
    counts = {s: sum(c.status == s for c in checks) for s in STATUSES}
    return {
        "serial": serial,
        "host": host,
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": counts,
        "problems": [c.id for c in checks if c.status == "problem"],
        "checks": [c.to_json() for c in checks],
    }


def print_report(checks, serial: str, host: str) -> None:
    out = render.console
    out.print(f"[bold]Diagnosis of Mac {escape(serial)}[/] (device: {escape(host)}) — read-only")
    table = Table(show_lines=False, expand=False)
    for name in ("symptom", "status", "applies to", "likely cause", "remedy", "playbook"):
        table.add_column(name, overflow="fold")
    for c in checks:
        table.add_row(
            Text(c.symptom),
            Text(c.status, style=STYLE.get(c.status, "")),
            Text(applies_to(c.models)),
            Text(c.likely_cause or ""),
            Text(c.remedy or ""),
            Text(c.playbook or ""),
        )
    out.print(table)
    model = next((c.evidence.get("model") for c in checks if c.id == "registration-model"), None)
    if model:
        out.print(f"Registration model: {model}", markup=False)
    out.print("[bold]Evidence[/]")
    for c in checks:
        out.print(f"[{STYLE.get(c.status, '')}]{c.status:<7}[/] {escape(c.id)}: {escape(one_line(c.finding))}")
        for key, value in c.evidence.items():
            if value not in (None, [], {}):
                out.print(f"          {key}: {json.dumps(value, sort_keys=True, default=str)}", markup=False)
    counts = {s: sum(c.status == s for c in checks) for s in STATUSES}
    out.print(f"{counts['problem']} problem(s), {counts['unknown']} unknown, {counts['ok']} ok, {counts['n/a']} not applicable")
    for name in dict.fromkeys(c.playbook for c in checks if c.status == "problem" and c.playbook):
        hint = PLAYBOOK_HINT.get(name, "")
        out.print(f"playbook {name}" + (f": `{hint.format(serial=serial)}` shows what it would change" if hint else ""), markup=False)


def applies_to(models) -> str:
    return "all" if len(models) == len(MODEL_LABEL) else ", ".join(MODEL_LABEL.get(m, m) for m in models)


def one_line(text: str) -> str:
    """A finding as one printable line: what a Mac or a service put in it cannot start a line or move the cursor."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
