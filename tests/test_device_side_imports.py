"""The device side of the command line loads no cloud stack: a run on a Mac (a Jamf policy, the SSH host agent,
a zipapp on the Mac's own Python) must not need requests, msal, PyJWT, cryptography, tenacity or keyring, and every
cleanup process the operator starts is quicker for it."""

import os

import pytest

from tests.support.imports import cloud_stack_loaded
from tests.support.lab import REPO


def _loaded(*args, env=None) -> list[str]:
    return cloud_stack_loaded(*args, cwd=REPO, env=env)


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("--help",),
        ("playbooks", "list"),
    ],
)
def test_commands_that_need_no_cloud_load_no_cloud_stack(args):
    assert _loaded(*args) == []


def test_a_device_only_dry_run_loads_no_cloud_stack(make_mac, state_dir, tmp_path):
    mac = make_mac()
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), CLEANUP_CONFIG=str(tmp_path / "none.toml"))
    assert _loaded("run", "--dry-run", "--only", "device", "--host", f"sim:{mac}", env=env) == []
    assert _loaded("plan", "--host", f"sim:{mac}", "--only", "device", env=env) == []
    assert _loaded("diagnose", "--host", f"sim:{mac}", env=env) == []  # no cloud configured: the Mac's checks
