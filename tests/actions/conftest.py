"""Helpers for the device-action safety tests: a real simulated Mac, real facts, real actions.

Nothing of the product is mocked. A test builds a simulated Mac, gathers its facts with the
``facts.gather`` action (as step 0 of a run does), then plans and applies one step's action.
"""

from __future__ import annotations

import hashlib
import json
import plistlib
import uuid
from pathlib import Path

import pytest

from cleanup.engine.action import Outcome, registry
from cleanup.engine.context import RunContext, RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.hosts import open_host
from cleanup.lab.simmac.common import USERS_DB
from tests.support.lab import keychain, set_lab_state


class SimMac:
    """A simulated Mac on disk plus the product's view of it (host, playbook, actions)."""

    def __init__(self, root: Path):
        self.root = root
        self.host = open_host(f"sim:{root}")
        self.playbook = load_playbook("cause6")
        self.actions = registry()

    # -- the simulated Mac -------------------------------------------------------------------
    def hp(self, mac_path: str) -> Path:
        """The host path of a Mac path (lexical: never resolves links)."""
        return self.root / mac_path.lstrip("/")

    def keychain(self, mac_path: str) -> dict:
        return keychain(self.root, mac_path)

    def write_keychain(self, mac_path: str, data: dict) -> None:
        self.hp(mac_path).write_text(json.dumps(data, indent=2) + "\n")

    def set_state(self, **changes) -> None:
        set_lab_state(self.root, **changes)

    def add_user_record(self, name: str, uid: int, home: str) -> None:
        """Add a record to the local user database (what `dscl . -list /Users UniqueID` reads)."""
        rec = {
            "name": [name],
            "uid": [str(uid)],
            "gid": ["20"],
            "home": [home],
            "shell": ["/bin/zsh"],
            "realname": [name],
            "generateduid": [str(uuid.UUID(hex=hashlib.md5(name.encode()).hexdigest())).upper()],
        }
        (self.hp(USERS_DB) / f"{name}.plist").write_bytes(plistlib.dumps(rec))

    # -- the product -------------------------------------------------------------------------
    def context(self, **options) -> RunContext:
        """A RunContext whose facts come from really running step 0 (facts.gather) on this Mac."""
        ctx = RunContext(host=self.host, options=RunOptions(yes=True, **options))
        facts_step = self.playbook.step("facts")
        ctx.facts.update(self.actions[facts_step.action].plan(ctx, facts_step).facts)
        return ctx

    def step(self, ref: str) -> Step:
        return self.playbook.step(ref)

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        return self.actions[step.action].plan(ctx, step)

    def apply(self, ctx: RunContext, step: Step, change) -> Outcome:
        return self.actions[step.action].apply(ctx, step, change)

    def apply_all(self, ctx: RunContext, step: Step, plan: StepPlan) -> list[Outcome]:
        return [self.apply(ctx, step, c) for c in plan.changes]


@pytest.fixture
def sim_mac(make_mac):
    """Factory: ``sim_mac(users=[...], scenario=..., logged_out=[...])`` -> SimMac (built by ``make_mac``)."""
    n = [0]

    def make(**kw) -> SimMac:
        n[0] += 1
        return SimMac(make_mac(f"mac{n[0]}", **kw).resolve())

    return make
