import os
import shutil
import tempfile
from pathlib import Path

import pytest

import cleanup.actions  # noqa: F401 - registers the actions, as the CLI does
from cleanup.engine.store import StateStore
from cleanup.lab.simmac import fakeserver
from cleanup.lab.simmac.builder import create_sim_mac
from tests.support import bytecode, ramtmp
from tests.support.zygoteclient import REPO

_FAKES: list[fakeserver.FakeServer] = []
_RAM_BASE: list[str] = []


def _ram_basetemp(config) -> None:
    """Temporary folders in memory (tmpfs) when the machine has one: the suite makes hundreds of simulated Macs,
    state folders and checkpoints, and a file system on a virtual disk makes each folder ~15 times slower to create
    (docs/benchmarks.md). An explicit --basetemp, or CLEANUP_TESTS_DISK_TMP=1, keeps pytest's own choice. A
    session's folder is removed when it passes and kept when it fails (the two newest kept ones stay)."""
    if config.option.basetemp or not ramtmp.usable():
        return
    try:
        kept = sorted(Path(ramtmp.RAM_TMP).glob(f"cleanup-tests-{os.getuid()}-*"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-2]:
            shutil.rmtree(old, ignore_errors=True)
        base = tempfile.mkdtemp(prefix=f"cleanup-tests-{os.getuid()}-", dir=ramtmp.RAM_TMP)
    except OSError:
        return
    config.option.basetemp = base
    _RAM_BASE.append(base)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        _ram_basetemp(config)  # before pytest's tmp_path factory reads --basetemp; the workers get subfolders
        bytecode.write(config, REPO)
    # One server for the simulated Macs' fake tools, started before the xdist workers so that they and every
    # command line they start inherit SIMMAC_FAKE_LAUNCHER: a fake call costs a message to a waiting worker, not an interpreter
    # (docs/benchmarks.md). CLEANUP_TESTS_NO_FAKESERVER=1 keeps the plain `python -S` scripts.
    if hasattr(config, "workerinput") or os.environ.get("CLEANUP_TESTS_NO_FAKESERVER") == "1" or fakeserver.LAUNCHER_ENV in os.environ:
        return
    server = fakeserver.start()
    if server is not None:
        _FAKES.append(server)
        os.environ.update(server.env)


def pytest_xdist_auto_num_workers(config):
    # `-n auto`: two workers per core (at most 8). Much of the suite waits rather than computes (the emulator's
    # latency and Retry-After, restarts, a second process that must find the first busy); with one worker per core
    # the whole suite took 6m22 on 2 cores, with two 4m25 (docs/benchmarks.md). PYTEST_XDIST_AUTO_NUM_WORKERS wins.
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return min(8, max(2, 2 * len(os.sched_getaffinity(0))))


def pytest_sessionfinish(session, exitstatus):
    if _RAM_BASE and exitstatus == 0:
        shutil.rmtree(_RAM_BASE.pop(), ignore_errors=True)


def pytest_unconfigure(config):
    while _FAKES:
        os.environ.pop(fakeserver.LAUNCHER_ENV, None)
        _FAKES.pop().stop(remove_launcher=True)


def pytest_collection_modifyitems(items):
    # a real sshd per test or module makes every SSH test an end-to-end one: `-m "not slow"` leaves them out
    for item in items:
        if item.get_closest_marker("ssh") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
    # long tests first, so that the workers end together instead of one running them alone at the end
    items.sort(key=lambda item: item.get_closest_marker("early") is None)


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
