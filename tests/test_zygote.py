"""The tests' command-line fork server (tests/support/zygote.py) must answer as a fresh `python -m cleanup` would:
the tests that kill a command mid-run, and the ones that pick a keyring backend, rely on it."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.support import zygoteclient
from tests.support.lab import run_cli, start_cli


@pytest.fixture(params=["forked", "fresh interpreter"])
def how(request, monkeypatch):
    if request.param == "fresh interpreter":
        monkeypatch.setenv("CLEANUP_TESTS_NO_ZYGOTE", "1")
    return request.param


def _serving_tenant(tmp_path, env):
    proc = start_cli("lab", "tenant", "start", tmp_path / "tenant", env=env)
    deadline = time.time() + 60
    while not (tmp_path / "tenant/config.toml").exists():
        assert proc.poll() is None and time.time() < deadline, "the emulated tenant did not start"
        time.sleep(0.05)
    return proc


def test_a_started_command_runs_until_signalled_and_ends_as_the_signal_says(tmp_path, how):
    env = dict(os.environ, CLEANUP_STATE_DIR=str(tmp_path / "state"), CLEANUP_CONFIG=str(tmp_path / "none.toml"))
    proc = _serving_tenant(tmp_path, env)
    assert proc.pid != os.getpid() and os.path.exists(f"/proc/{proc.pid}")
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.3)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)  # Ctrl-C: the tenant stops and the command exits 0
    assert proc.wait(timeout=30) == 0
    proc = _serving_tenant(tmp_path, env)
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    proc.kill()  # after its end: nothing to signal, no error
    assert proc.poll() == -signal.SIGKILL


def test_each_forked_command_picks_the_keyring_backend_its_environment_names(tmp_path):
    if os.environ.get("CLEANUP_TESTS_NO_ZYGOTE") == "1":
        pytest.skip("asked for fresh interpreters (CLEANUP_TESTS_NO_ZYGOTE=1)")
    config = tmp_path / "cloud.toml"
    config.write_text('[jamf]\nurl = "https://jamf.example.com"\nclient_id = "abc"\n')
    (tmp_path / "keyring.json").write_text("{}")
    said = []
    for backend in ("keyring.backends.fail.Keyring", "tests.support.keyring_backend.FileKeyring", "keyring.backends.fail.Keyring"):
        env = {"PYTHON_KEYRING_BACKEND": backend, "CLEANUP_TEST_KEYRING": str(tmp_path / "keyring.json"), "CLEANUP_CONFIG": str(config)}
        assert zygoteclient.usable(env)  # forked, and the list below is what a fresh interpreter says
        res = run_cli("creds", "show", env=env, state_dir=tmp_path / "state")
        assert res.returncode == 0, res.stderr
        said.append("no keyring backend" in res.stdout)
    assert said == [True, False, True]


def test_an_environment_that_changes_how_an_interpreter_starts_gets_a_fresh_one():
    assert not zygoteclient.usable({"PYTHONPATH": "/elsewhere"}) and not zygoteclient.usable({"CRASHKIT": "save-after:1:x"})
    assert zygoteclient.usable({"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "CLEANUP_CONFIG": "x"})
