"""Live progress for people: a line per step and change, a progress bar for waits."""

from __future__ import annotations

import sys
import time

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cleanup.cli.render import console, lit, plain, print_plan_confirmation
from cleanup.engine.reporter import Reporter

MARK = {"done": "[green]✓[/]", "blocked": "[red]![/]", "paused": "[yellow]‖[/]", "failed": "[red]✗[/]"}


class ConsoleReporter(Reporter):
    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def step_started(self, step) -> None:
        if not self.quiet:
            console.print(f"[bold]{step.number:>2} {lit(step.id)}[/] — {lit(step.title)}")

    def step_ended(self, step, state, summary) -> None:
        if not self.quiet:
            console.print(f"   {MARK.get(state) or lit(state)} {lit(summary)}")

    def change_applied(self, step, change, outcome) -> None:
        if not self.quiet:
            console.print(f"     {plain(outcome)}: {change.target}", markup=False)

    def confirm(self, step, plan) -> bool | None:
        if not sys.stdin.isatty():
            return None
        print_plan_confirmation(step, plan)
        return typer.confirm("Apply these changes?", default=False)

    def wait_until(self, not_before: float, title: str) -> None:
        total = max(not_before - time.time(), 0.0)
        with Progress(TextColumn("   {task.description}", markup=False), BarColumn(), TimeRemainingColumn(), console=console, disable=self.quiet) as bar:
            task = bar.add_task(title, total=total or 1)
            while (left := not_before - time.time()) > 0:
                bar.update(task, completed=total - left)
                time.sleep(min(left, 0.25))
            bar.update(task, completed=total or 1)
