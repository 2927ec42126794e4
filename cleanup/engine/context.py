"""What an action sees while it plans or applies: the host, the recorded facts, its own durable data."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cleanup.errors import UsageError
from cleanup.hosts.base import Host, LocalUser
from cleanup.hosts.notify import Options as NotifyOptions

T = TypeVar("T")


@dataclass
class RunOptions:
    dry_run: bool = False
    yes: bool = False
    no_wait: bool = False
    wait_seconds: float | None = None  # explicit override of the playbook's wait (recorded)
    autoresume: bool = True
    serial: str | None = None  # the operator's statement of which Mac this must be
    #: the operator's explicit picks where several cloud records match: {"jamf": [ids], "entra": [object ids]}
    choices: dict[str, list[str]] = field(default_factory=dict)
    #: the batch this run belongs to (recorded, so a crashed batch finds its runs again)
    batch_id: str | None = None
    #: cloud records a batch's plan gathered moments ago (step 0 reuses them; deletes still re-read each object)
    prefetched: dict[str, Any] | None = None
    #: the Mac's raw records read in bulk for a chunk of a batch's Macs (cleanup.batch.prefetch.lookups):
    #: {"jamf": [records] | None, "intune": [managedDevices], "entra": {deviceId: [devices]}}; step 0 uses them
    #: instead of its own reads and looks up live only the deviceIds missing there
    lookups: dict[str, Any] | None = None
    #: where step 4 saves what Jamf Pro escrowed for a record before deleting it (a cleanup.escrow.Escrow, handed
    #: over by the CLI or the batch; the engine and the actions only call it); None: nowhere
    escrow: Any = None
    #: the operator's explicit --discard-escrowed-secrets: delete records without saving their secrets (recorded)
    discard_escrowed_secrets: bool = False
    #: --notify, --notify-text and --deferrals: what the person at the Mac is told (recorded in the steps that tell)
    notify: NotifyOptions = field(default_factory=NotifyOptions)


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
    #: ids of the steps this run includes (cloud facts and preflight ask only for what those steps need)
    included: set[str] = field(default_factory=set)
    playbook: Any = None
    #: opens the Jamf Pro / Graph connection on first use (None: no cloud configured)
    cloud_opener: Callable[[], Any] | None = None
    _cloud: Any = None

    @property
    def cloud(self) -> Any:
        if self._cloud is None:
            if self.cloud_opener is None:
                hint = "`cleanup creds set jamf` and `cleanup creds set graph`, or --only device"
                raise UsageError("no Jamf Pro / Graph connection is configured", hint=hint)
            self._cloud = self.cloud_opener()
        return self._cloud

    def memo(self, key: str, probe: Callable[[], T]) -> T:
        """A probe's result shared by the steps of one dry-run (nothing changes in between); fresh in a real run."""
        if not self.options.dry_run:
            return probe()
        if key not in self.cache:
            self.cache[key] = probe()
        shared: T = self.cache[key]  # what probe() returned for this key earlier in the dry-run
        return shared

    def close_cloud(self) -> None:
        if self._cloud is not None:
            self._cloud.close()
            self._cloud = None

    def included_actions(self) -> set[str]:
        steps = self.playbook.steps if self.playbook is not None else []
        return {s.action for s in steps if s.id in self.included}

    @property
    def serial(self) -> str | None:
        return self.facts.get("serial") or self.options.serial

    @property
    def users(self) -> list[LocalUser]:
        return [LocalUser(u["name"], u["uid"], u["home"]) for u in self.facts.get("users", [])]

    @property
    def console_user(self) -> LocalUser | None:
        name = self.facts.get("console_user")
        return next((u for u in self.users if u.name == name), None)
