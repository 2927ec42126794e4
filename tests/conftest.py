import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts import open_host
from cleanup.lab.simmac.builder import create_sim_mac

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, state_dir, env=None, input=None, timeout=180):
    """Run the real command line in a child process, as a user would."""
    # no cloud configuration unless a test gives one: the user's own config must never leak into a test
    e = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="250", CLEANUP_CONFIG=str(Path(state_dir).parent / "no-config.toml"))
    for k in [k for k in e if k.startswith("CLEANUP_") and k not in ("CLEANUP_STATE_DIR", "CLEANUP_CONFIG")]:
        del e[k]
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cleanup", *map(str, args)],
        capture_output=True, text=True, env=e, input=input, timeout=timeout, cwd=REPO,
    )


def lab_state(mac: Path) -> dict:
    return json.loads((mac / ".lab/state.json").read_text())


def set_lab_state(mac: Path, **changes) -> None:
    state = lab_state(mac)
    state.update(changes)
    (mac / ".lab/state.json").write_text(json.dumps(state))


def keychain(mac: Path, mac_path: str) -> dict:
    return json.loads((mac / mac_path.lstrip("/")).read_text())


def drive(store: StateStore, mac: Path, *, only="device", max_rounds=8, **options):
    """Run the cause6 playbook on a simulated Mac through every pause, as an operator resuming it would."""
    opts = RunOptions(yes=True, wait_seconds=0, autoresume=False, **options)
    runner = Runner(store, open_host(f"sim:{mac}"), load_playbook("cause6"), opts)
    pauses = []
    run_id = None
    for _ in range(max_rounds):
        try:
            run = runner.start(Selection(only=only)) if run_id is None else runner.resume(run_id)
            return run, pauses
        except Paused as p:
            pauses.append(p.message)
            run_id = run_id or store.latest()
    raise AssertionError(f"run did not finish: {pauses}")


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir) -> StateStore:
    return StateStore(state_dir)


@pytest.fixture
def make_mac(tmp_path):
    def make(name="mac", **kw) -> Path:
        root = tmp_path / name
        create_sim_mac(root, **kw)
        return root

    return make
