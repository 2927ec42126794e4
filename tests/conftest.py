from pathlib import Path

import pytest

import cleanup.actions  # noqa: F401 - registers the actions, as the CLI does
from cleanup.engine.store import StateStore
from cleanup.lab.simmac.builder import create_sim_mac


def pytest_collection_modifyitems(items):
    # a real sshd per test or module makes every SSH test an end-to-end one: `-m "not slow"` leaves them out
    for item in items:
        if item.get_closest_marker("ssh") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


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
