"""A step telling the person at the Mac (cleanup.hosts.notify): the run's texts and choices, and what was shown.

Nothing is shown in a dry-run or with ``--notify none``. The operator's choice is kept in the data of every step
that tells (``data["notify"]``), so a resume after the restart, or from the next policy run, tells the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from cleanup.engine.context import RunContext
from cleanup.hosts import notify, probes
from cleanup.hosts.base import LocalUser


def settings(ctx: RunContext) -> notify.Settings:
    table = ctx.playbook.notify if ctx.playbook is not None else {}
    return notify.effective(table, ctx.options.notify)


def active(ctx: RunContext) -> bool:
    return not ctx.options.dry_run and ctx.options.notify.mode != "none"


def record(ctx: RunContext) -> None:
    """Keep the operator's choice with the step (a real run only)."""
    if not ctx.options.dry_run:
        ctx.data["notify"] = ctx.options.notify.to_json()


def tell(ctx: RunContext, kind: str, buttons: Sequence[str] = (notify.OK,), timeout: int = notify.INFO_SECONDS, **fill: str) -> notify.Told | None:
    """Show the ``kind`` text to the console user now; None when nothing is to be shown (dry-run, --notify none)."""
    if not active(ctx):
        return None
    record(ctx)
    name = probes.console_user_name(ctx.host)
    user: LocalUser | None = next((u for u in ctx.users if u.name == name and u.uid >= probes.FIRST_REAL_UID), None)
    if name is not None and user is None:
        return notify.Told(False, why=f"not shown: {name!r} at the console is not a local user step 0 recorded")
    fill.setdefault("user", name or "")
    s = settings(ctx)
    return notify.tell(ctx.host, user, notify.Dialog(s.text("title"), s.text(kind, **fill), tuple(buttons), timeout))


def with_told(text: str, told: notify.Told | None) -> str:
    """An outcome with what the person at the Mac was told (or why not) appended."""
    return text if told is None else f"{text}; at the Mac: {told.text()}"


def plan_note(ctx: RunContext, what: str) -> str:
    """What the plan says about telling the person at the Mac (shown by the dry-run; nothing is shown then)."""
    if ctx.options.notify.mode == "none":
        return f"{what}: nobody at the Mac is told (--notify none)"
    return f"{what}: the console user is told (swiftDialog if installed, else jamfHelper, else osascript; nobody when no one is logged in)"
