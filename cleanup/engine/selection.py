"""Which steps of a playbook a run includes: ``--only device|cloud``, ``--from``, ``--to``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cleanup.engine.action import ActsOn, registry
from cleanup.engine.model import Playbook
from cleanup.errors import UsageError


@dataclass
class Selection:
    only: str | None = None  # device | cloud
    start: str | None = None  # step ref for --from
    stop: str | None = None  # step ref for --to

    def to_json(self) -> dict[str, Any]:
        return {"only": self.only, "from": self.start, "to": self.stop}

    def included(self, playbook: Playbook, device: bool = True) -> set[str]:
        actions = registry()
        lo = playbook.index(self.start) if self.start else 0
        hi = playbook.index(self.stop, last=True) if self.stop else len(playbook.steps) - 1
        if lo > hi:
            raise UsageError(f"--from {self.start} comes after --to {self.stop}")
        ids: set[str] = set()
        for i, step in enumerate(playbook.steps):
            if not device and step.acts_on == ActsOn.DEVICE:
                continue  # a cloud-only run has no Mac
            if actions[step.action].read_only:
                if not (self.only == "device" and step.acts_on == ActsOn.CLOUD):
                    ids.add(step.id)  # facts and preflight run whenever their side is in: later steps need them
            elif lo <= i <= hi and (self.only is None or step.acts_on in (self.only, ActsOn.OPERATOR)):
                ids.add(step.id)
        return ids
