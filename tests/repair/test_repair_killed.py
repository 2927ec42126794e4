"""Progress is durable: `cleanup repair` killed in the middle of a rung (SIGKILL, injected from outside the product)
is continued by `cleanup repair` again: the same run, resumed, its once-only registration not repeated."""

import os

from tests.support import crashkit
from tests.support.lab import run_cli
from tests.support.models2026 import ca_calls
from tests.support.repairkit import ladder, never_registered, run_ids, rungs_tried

SERIAL = "C02ZK1ABMD6M"


def test_a_killed_repair_continues_the_same_run(make_mac, state_dir, tmp_path):
    mac = make_mac(scenario="device-compliance", users=["alice"])
    never_registered(mac)
    # killed right after the third checkpoint of the rung's run: its registration step is done, the ladder does not know the run yet
    crash = {"PYTHONPATH": f"{crashkit.PATH}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "CRASHKIT": f"save-after:3:{tmp_path / 'counter'}"}
    killed = run_cli("repair", "--host", f"sim:{mac}", env=crash, state_dir=state_dir)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    [run] = run_ids(state_dir)
    assert [(a["rung"], a["status"], a["run_id"]) for a in ladder(state_dir, SERIAL)["attempts"]] == [("register", "running", None)]

    res = run_cli("repair", "--host", f"sim:{mac}", state_dir=state_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"rung register: continuing its run {run}" in res.stdout
    assert run_ids(state_dir) == [run] and rungs_tried(state_dir, SERIAL) == [("register", "verified")]
    assert [c["verb"] for c in ca_calls(mac)] == ["registerWithIntune", "gatherAADInfo"]
