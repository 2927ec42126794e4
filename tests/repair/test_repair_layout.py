"""On the Mac a repair needs no cloud library (the layout's import rules, repair included, are in
tests/test_layout_imports.py)."""

import os

from tests.support.imports import cloud_stack_loaded
from tests.support.lab import REPO
from tests.support.repairkit import never_registered


def test_a_device_only_repair_loads_no_cloud_stack(make_mac, state_dir, tmp_path):
    """What a Jamf policy runs on the Mac: the repair itself, with --only device."""
    mac = make_mac(scenario="device-compliance", users=["alice"])
    never_registered(mac)
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), CLEANUP_CONFIG=str(tmp_path / "none.toml"))
    assert cloud_stack_loaded("repair", "--only", "device", "--host", f"sim:{mac}", cwd=REPO, env=env) == []
