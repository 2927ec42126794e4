"""Which rung a diagnosis calls for: the lightest one, not tried yet and above every rung that failed, that applies
to the Mac's registration model and fixes at least one of the findings; the findings that led to it; the rungs the
ladder would climb to if it does not verify; and what no rung fixes."""

from __future__ import annotations

from dataclasses import dataclass, field

from cleanup.diagnose import model as M
from cleanup.diagnose.model import Check
from cleanup.repair.rungs import LADDER, UNKNOWN, Mac, Rung, fixers, fixes, index


@dataclass
class Choice:
    rung: Rung | None
    targets: list[Check] = field(default_factory=list)  # the findings that led to it
    above: list[Rung] = field(default_factory=list)  # where the ladder climbs if it does not verify
    unfixable: list[Check] = field(default_factory=list)  # problems no rung fixes (the tenant's set-up)
    #: why no rung was picked although a finding calls for one
    stuck: str | None = None
    #: the rung that would fix it is above --max-rung
    over_max: bool = False

    def to_json(self) -> dict:
        return {
            "rung": self.rung.name if self.rung else None,
            "playbook": self.rung.playbook if self.rung else None,
            "does": self.rung.does if self.rung else None,
            "why": [finding(c) for c in self.targets],
            "above": [r.name for r in self.above],
            "unfixable": [{"check": c.id, "finding": c.finding, "remedy": c.remedy} for c in self.unfixable],
            "stuck": self.stuck,
        }


def finding(c: Check) -> str:
    return f"{c.id}: {c.finding}"


def model_of(checks: list[Check]) -> str:
    """The registration model the diagnosis settled on (``unknown`` when it could not tell)."""
    for c in checks:
        if c.id == M.REGISTRATION_MODEL.id and c.status == M.OK:
            return str(c.evidence.get("model") or UNKNOWN)
    return UNKNOWN


def problems(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == M.PROBLEM]


def choose(checks: list[Check], mac: Mac, *, tried: set[str], floor: int = 0, top: int | None = None, cloud: bool = True) -> Choice:
    found = problems(checks)
    unfixable = [c for c in found if not fixers(c, mac)]
    fixable = [c for c in found if c not in unfixable]
    if not fixable:
        return Choice(None, unfixable=unfixable)
    top = len(LADDER) - 1 if top is None else top
    usable = [r for r in LADDER[floor:] if r.name not in tried and r.applies(mac) and (cloud or not r.cloud_only)]
    candidates = [r for r in usable if any(fixes(r, c, mac) for c in fixable)]
    within = [r for r in candidates if index(r.name) <= top]
    if not within:
        names = ", ".join(c.id for c in fixable)
        if candidates:
            stuck = f"the rung that fixes {names} is {candidates[0].name}, above --max-rung {LADDER[top].name}"
        else:
            stuck = f"no rung is left that fixes {names} (tried: {', '.join(sorted(tried)) or 'none'})"
        return Choice(None, fixable, [], unfixable, stuck, over_max=bool(candidates))
    rung = within[0]
    targets = [c for c in fixable if fixes(rung, c, mac)]
    above = [r for r in within[1:] if any(fixes(r, c, mac) for c in targets)]
    return Choice(rung, targets, above, unfixable)


def unverified(rung: Rung, checks: list[Check], mac: Mac) -> list[Check]:
    """The findings still there after ``rung`` ran that it should have fixed (or must not leave, ``confirms``)."""
    return [c for c in problems(checks) if fixes(rung, c, mac) or c.id in rung.confirms]
