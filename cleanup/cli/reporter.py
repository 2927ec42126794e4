"""Live progress for people: a line per step and change, a progress bar for waits. When stdout is not a terminal
(a pipe, a Jamf policy log) one line per step as it ends, its changes under it, and a line instead of the bar."""

from __future__ import annotations

import sys
import time

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cleanup.cli import render
from cleanup.cli.render import console, lit, plain, print_plan_confirmation
from cleanup.engine.reporter import Reporter

MARK = {"done": "[green]✓[/]", "blocked": "[red]![/]", "paused": "[yellow]‖[/]", "failed": "[red]✗[/]"}


def one_line(text: str) -> str:
    """Control characters (a newline in a message from the Mac) escaped: a log line stays one line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


PLAIN_MARK = {"done": "✓", "blocked": "! blocked:", "paused": "‖ paused:", "failed": "✗ failed:"}


class ConsoleReporter(Reporter):
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.plain = render.PLAIN
        self._changes: list[str] = []  # plain: the current step's change lines, printed under its line

    def step_started(self, step) -> None:
        if self.quiet:
            return
        if self.plain:
            self._flush()
        else:
            console.print(f"[bold]{step.number:>2} {lit(step.id)}[/] — {lit(step.title)}")

    def step_ended(self, step, state, summary) -> None:
        if self.quiet:
            return
        if self.plain:
            mark = PLAIN_MARK.get(plain(state)) or f"{plain(state)}:"
            console.print(f"{step.number:>2} {plain(step.id)}: {mark} {one_line(plain(summary)) or 'done'}", markup=False)
            self._flush()
        else:
            console.print(f"   {MARK.get(state) or lit(state)} {lit(summary)}")

    def change_applied(self, step, change, outcome) -> None:
        if self.quiet:
            return
        line = f"     {one_line(plain(outcome))}: {one_line(change.target)}"
        if self.plain:
            self._changes.append(line)
        else:
            console.print(line, markup=False)

    def _flush(self) -> None:
        for line in self._changes:
            console.print(line, markup=False)
        self._changes.clear()

    def confirm(self, step, plan) -> bool | None:
        if not sys.stdin.isatty():
            return None
        print_plan_confirmation(step, plan)
        return typer.confirm("Apply these changes?", default=False)

    def wait_until(self, not_before: float, title: str) -> None:
        total = max(not_before - time.time(), 0.0)
        if self.plain:
            if not self.quiet:
                until = time.strftime("%H:%M:%S", time.localtime(not_before))
                console.print(f"   waiting until {until} ({total / 60:.1f} min): {plain(title)}", markup=False)
            return super().wait_until(not_before, title)
        with Progress(TextColumn("   {task.description}", markup=False), BarColumn(), TimeRemainingColumn(), console=console, disable=self.quiet) as bar:
            task = bar.add_task(title, total=total or 1)
            while (left := not_before - time.time()) > 0:
                bar.update(task, completed=total - left)
                time.sleep(min(left, 0.25))
            bar.update(task, completed=total or 1)
