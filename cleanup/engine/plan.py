"""What an action plans for a step: concrete changes, or a no-op / blocker with its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ChangeKind(StrEnum):
    REMOVE_PATH = "remove-path"
    WRITE_FILE = "write-file"
    DELETE_KEYCHAIN_ITEM = "delete-keychain-item"
    CLEAR_IDENTITY_PREFERENCE = "clear-identity-preference"
    RUN_COMMAND = "run-command"
    RESTART = "restart"
    DELETE_JAMF_RECORD = "delete-jamf-record"
    DELETE_ENTRA_DEVICE = "delete-entra-device"
    DELETE_INTUNE_RECORD = "delete-intune-record"
    ADD_TO_STATIC_GROUP = "add-to-static-group"


#: the changes that delete a cloud object, by the service they delete in
CLOUD_DELETES = {ChangeKind.DELETE_JAMF_RECORD: "jamf", ChangeKind.DELETE_ENTRA_DEVICE: "entra", ChangeKind.DELETE_INTUNE_RECORD: "intune"}


@dataclass
class Change:
    """One concrete change. ``key`` identifies its target across runs (used to reconcile after a crash)."""

    key: str
    kind: ChangeKind
    target: str  # what a person reads
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kind = ChangeKind(self.kind)  # an action planning an unknown kind is a bug, caught at plan time

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepPlan:
    changes: list[Change] = field(default_factory=list)
    noop_reason: str | None = None  # nothing to do, and why
    blocked: list[str] = field(default_factory=list)  # parts that cannot be done now (resume retries them)
    waiting_for: list[str] = field(default_factory=list)  # what would unblock them, e.g. "login:bob"
    notes: list[str] = field(default_factory=list)  # kept items, things that cannot be seen, warnings
    cannot_plan: str | None = None  # nothing can be planned yet, and why
    facts: dict[str, Any] = field(default_factory=dict)  # facts this step gathered (step 0)

    @property
    def status(self) -> str:
        if self.cannot_plan:
            return "cannot-plan"
        if self.changes:
            return "would-change"
        if self.blocked:
            return "blocked"
        return "no-op"

    def summary(self) -> str:
        if self.cannot_plan:
            return self.cannot_plan
        parts = []
        if self.changes:
            parts.append(f"{len(self.changes)} change(s)")
        if self.blocked:
            parts.append("blocked: " + "; ".join(self.blocked))
        if not parts:
            parts.append(self.noop_reason or "nothing to do")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "changes": [c.to_json() for c in self.changes],
            "noop_reason": self.noop_reason,
            "blocked": list(self.blocked),
            "notes": list(self.notes),
            "cannot_plan": self.cannot_plan,
        }
