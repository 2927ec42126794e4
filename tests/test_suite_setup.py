"""The suite's own set-up that keeps it fast (tests/conftest.py): temporary folders in memory and the fake tools
forked from a server. Each is skipped only where the machine cannot have it."""

import os
import shutil

import pytest

from cleanup.lab.simmac import fakeserver
from tests.support import ramtmp


def test_temporary_folders_are_in_memory_where_the_machine_has_a_tmpfs(tmp_path, pytestconfig):
    if not ramtmp.usable():
        pytest.skip("no tmpfs at /dev/shm with room, or asked for disk")
    if pytestconfig.option.basetemp and not str(pytestconfig.option.basetemp).startswith("/dev/shm/"):
        pytest.skip("--basetemp given")
    assert str(tmp_path).startswith("/dev/shm/cleanup-tests-")


def test_simulated_macs_run_their_fakes_through_the_fork_server(make_mac):
    if os.environ.get("CLEANUP_TESTS_NO_FAKESERVER") == "1":
        pytest.skip("asked for the plain scripts (CLEANUP_TESTS_NO_FAKESERVER=1)")
    if not (shutil.which("cc") or shutil.which("gcc")):
        if os.environ.get("CI"):
            pytest.fail("no C compiler: the fake tools' server cannot be built")
        pytest.skip("no C compiler: the plain scripts answer the same, only slower")
    launcher = os.environ[fakeserver.LAUNCHER_ENV]
    mac = make_mac()
    assert (mac / "usr/bin/security").read_text().splitlines()[0] == f"#!{launcher}"


def test_the_projects_bytecode_is_written_for_the_fresh_interpreters_the_suite_starts():
    import importlib.util
    from pathlib import Path

    import cleanup.cli

    source = Path(cleanup.cli.__file__)
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime


def test_auto_means_two_workers_per_core(pytestconfig, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert pytestconfig.hook.pytest_xdist_auto_num_workers(config=pytestconfig) == min(8, max(2, 2 * cores))
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert pytestconfig.hook.pytest_xdist_auto_num_workers(config=pytestconfig) == 3


def test_the_test_modules_are_rewritten_once_before_the_workers_start(pytestconfig):
    from pathlib import Path

    from _pytest.assertion import rewrite

    if pytestconfig.getoption("assertmode") != "rewrite":
        pytest.skip("assertions are not rewritten in this session")
    here = Path(__file__)
    for module in (here, here.parent / "engine/test_playbook.py", here.parent / "conftest.py"):
        pyc = rewrite.get_cache_dir(module) / (module.name[:-3] + rewrite.PYC_TAIL)
        assert rewrite._read_pyc(module, pyc) is not None, pyc  # the workers' hook finds it and skips the rewrite


def test_the_tests_marked_early_are_handed_out_first(request):
    early = [item.get_closest_marker("early") is not None for item in request.session.items]
    assert early == sorted(early, reverse=True)  # so that no worker is left running the long ones alone at the end
