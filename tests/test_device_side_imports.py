"""The device side of the command line loads no cloud stack: a run on a Mac (a Jamf policy, the SSH host agent,
a zipapp on the Mac's own Python) must not need requests, msal, PyJWT, cryptography, tenacity or keyring, and every
cleanup process the operator starts is quicker for it."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.lab import REPO

CLOUD_STACK = ("requests", "urllib3", "msal", "jwt", "cryptography", "tenacity", "keyring")

PROBE = """
import json, sys
from cleanup.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules} & set(%r))]), file=sys.stderr)
"""


def _loaded(*args, env=None) -> list[str]:
    res = subprocess.run([sys.executable, "-c", PROBE % (CLOUD_STACK,), *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    code, loaded = json.loads(res.stderr.strip().splitlines()[-1])
    assert code == 0, res.stdout + res.stderr
    return loaded


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
