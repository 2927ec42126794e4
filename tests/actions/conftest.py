"""Helpers for the device-action safety tests: a real simulated Mac, real facts, real actions.

Nothing of the product is mocked. A test builds a simulated Mac, gathers its facts with the
``facts.gather`` action (as step 0 of a run does), then plans and applies one step's action.
"""

from __future__ import annotations

import hashlib
import json
import os
import plistlib
import uuid
from pathlib import Path

import pytest

from cleanup.actions import get_actions
from cleanup.engine.context import RunContext, RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.hosts import open_host
from cleanup.lab.simmac.builder import create_sim_mac

USERS_DB = "var/db/dslocal/nodes/Default/users"


def login_kc(user: str) -> str:
    return f"/Users/{user}/Library/Keychains/login.keychain-db"


SYSTEM_KC = "/Library/Keychains/System.keychain"


class SimMac:
    """A simulated Mac on disk plus the product's view of it (host, playbook, facts)."""

    def __init__(self, root: Path, summary: dict):
        self.root = root
        self.summary = summary
        self.host = open_host(f"sim:{root}")
        self.playbook = load_playbook("cause6")
        self.actions = get_actions()

    # -- files -------------------------------------------------------------------------------
    def hp(self, mac_path: str) -> Path:
        """The host path of a Mac path (lexical: never resolves links)."""
        return self.root / mac_path.lstrip("/")

    def keychain(self, mac_path: str) -> dict:
        return json.loads(self.hp(mac_path).read_text())

    def write_keychain(self, mac_path: str, data: dict) -> None:
        self.hp(mac_path).write_text(json.dumps(data, indent=2) + "\n")

    def state(self) -> dict:
        return json.loads((self.root / ".lab/state.json").read_text())

    def set_state(self, **changes) -> None:
        st = self.state()
        st.update(changes)
        (self.root / ".lab/state.json").write_text(json.dumps(st))

    def add_user_record(self, name: str, uid: int, home: str) -> None:
        """Add a record to the simulated local user database (what `dscl . -list /Users` reads)."""
        rec = {
            "name": [name], "uid": [str(uid)], "gid": ["20"], "home": [home], "shell": ["/bin/zsh"],
            "realname": [name],
            "generateduid": [str(uuid.UUID(hex=hashlib.md5(name.encode()).hexdigest())).upper()],
        }
        (self.root / USERS_DB / f"{name}.plist").write_bytes(plistlib.dumps(rec))

    # -- the product -------------------------------------------------------------------------
    def context(self, **options) -> RunContext:
        """A RunContext whose facts come from really running step 0 (facts.gather) on this Mac."""
        ctx = RunContext(host=self.host, options=RunOptions(yes=True, **options))
        facts_step = self.playbook.step("facts")
        plan = self.actions[facts_step.action].plan(ctx, facts_step)
        ctx.facts.update(plan.facts)
        return ctx

    def step(self, ref: str) -> Step:
        return self.playbook.step(ref)

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        return self.actions[step.action].plan(ctx, step)

    def apply(self, ctx: RunContext, step: Step, change) -> str:
        return self.actions[step.action].apply(ctx, step, change)

    def apply_all(self, ctx: RunContext, step: Step, plan: StepPlan) -> list[str]:
        return [self.apply(ctx, step, c) for c in plan.changes]


@pytest.fixture
def sim_mac(tmp_path):
    """Factory: ``sim_mac(users=[...], scenario=..., logged_out=[...])`` -> SimMac."""
    n = [0]

    def make(name: str | None = None, **kw) -> SimMac:
        n[0] += 1
        root = tmp_path / (name or f"mac{n[0]}")
        summary = create_sim_mac(root, **kw)
        return SimMac(Path(summary["root"]), summary)

    return make


def item_label(item) -> str:
    """A stable human label of a keychain item (JSON dict of the sim) for set comparisons."""
    return item.get("labl") or item.get("svce") or item.get("srvr") or ""


def read_bytes_if_exists(path: Path) -> bytes | None:
    return path.read_bytes() if os.path.lexists(path) and path.is_file() else None
