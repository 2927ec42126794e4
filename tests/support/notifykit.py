"""Notifications on the simulated Mac: what its fake dialog tools showed, the lab's answers, and device runs that show them."""

from __future__ import annotations

from pathlib import Path

from cleanup.lab.simmac.tool_notify import notifications, set_answers
from tests.support.lab import run_cli

__all__ = ["answer", "device_resume", "device_run", "kinds", "messages", "shown"]

#: a line of each default text: which notification a recorded message is
MARKERS = {
    "restart": "must restart to finish",
    "login": "needs to log in on this Mac",
    "register": "When the sign-in window appears",
    "psso-repair": "single sign-on registration must be repaired",
}


def shown(mac: Path) -> list[dict]:
    return notifications(mac)


def messages(mac: Path) -> list[str]:
    return [n["message"] for n in notifications(mac)]


def kinds(mac: Path) -> list[str]:
    """Which default text each notification showed (``?`` for another text), oldest first."""
    return [next((k for k, m in MARKERS.items() if m in n["message"]), "?") for n in notifications(mac)]


def answer(mac: Path, *answers: str) -> None:
    """The answers the user at the Mac gives the next dialogs (a button's text, or "timeout")."""
    set_answers(mac, list(answers))


def device_run(mac: Path, state_dir: Path, *extra: str, env: dict | None = None):
    """`cleanup run` of the device side on a simulated Mac, unattended (no wait, no boot daemon)."""
    args = ("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--wait-seconds", "0", "--no-autoresume", *extra)
    return run_cli(*args, state_dir=state_dir, env=env)


def device_resume(state_dir: Path, *extra: str, env: dict | None = None, rounds: int = 1):
    """`cleanup resume --latest` up to ``rounds`` times while it pauses; the last result."""
    res = run_cli("resume", "--latest", *extra, state_dir=state_dir, env=env)
    while res.returncode == 3 and rounds > 1:
        rounds -= 1
        res = run_cli("resume", "--latest", *extra, state_dir=state_dir, env=env)
    return res
