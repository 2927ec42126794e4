"""What an action sees while it plans or applies: the host, the recorded facts, its own durable data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from cleanup.hosts.base import Host, LocalUser


@dataclass
class RunOptions:
    dry_run: bool = False
    yes: bool = False
    no_wait: bool = False
    wait_seconds: float | None = None  # explicit override of the playbook's wait (recorded)
    autoresume: bool = True
    serial: str | None = None  # the operator's statement of which Mac this must be


@dataclass
class RunContext:
    host: Host
    options: RunOptions
    facts: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # the current step's durable data
    cache: dict[str, Any] = field(default_factory=dict)  # probes shared between the steps of one dry-run
    run_id: str = ""
    state_dir: str = ""
    clock: Callable[[], float] = time.time
    #: prints progress for people; actions call it for long waits
    wait_ui: Callable[[float, str], None] | None = None

    @property
    def users(self) -> list[LocalUser]:
        return [LocalUser(u["name"], u["uid"], u["home"]) for u in self.facts.get("users", [])]

    @property
    def console_user(self) -> LocalUser | None:
        name = self.facts.get("console_user")
        return next((u for u in self.users if u.name == name), None)
