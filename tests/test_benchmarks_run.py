"""The benchmark scripts still run against the current code (they drive the engine in-process, as a user of it
would): one quick round each. No figure is asserted, only what every round must show: each registration model's
reset ends verified, and a Device Compliance fleet deletes nothing in Intune."""

import re
import subprocess
import sys

import pytest

from tests.support.lab import REPO

pytestmark = pytest.mark.slow


def _run(script: str, *args: str) -> str:
    res = subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def _rows(out: str) -> dict[str, list[str]]:
    """The table's rows by their first cell."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    return {r[0]: r for r in rows}


def test_the_device_benchmark_runs_one_round():
    assert "|" in _run("bench_device.py", "--users", "1", "--repeat", "1")  # its table


def test_the_agent_benchmark_times_the_artifact_and_the_extension_attribute():
    rows = _rows(_run("bench_agent.py", "--users", "1", "--repeat", "1"))
    assert "extension attribute, 1 user(s), artifact" in rows and "`--version`, artifact" in rows, rows


def test_the_cloud_benchmark_resets_a_mac_of_each_registration_model_to_verified():
    # the script exits non-zero when a reset does not end verified for its model
    scenarios = ["clean", "device-compliance", "platform-sso"]  # one per model: the others cost time and show no more here
    rows = _rows(_run("bench_cloud.py", "--repeat", "1", "--latency-ms", "0", "--scenario", *scenarios))
    assert all(s in rows for s in scenarios), rows
    # a Device Compliance or Platform SSO Mac: a Jamf record and one Entra device to delete, Intune asked and empty
    for scenario in ("device-compliance", "platform-sso"):
        assert rows[scenario][1:2] == ["1/1/0"] and rows[scenario][3] == "8", rows[scenario]
    assert rows["clean"][1:2] == ["1/1/1"] and rows["clean"][3] == "9"


@pytest.mark.parametrize("model", ["legacy", "device-compliance"])
def test_the_batch_benchmark_runs_a_tiny_fleet_of_each_model_and_every_reset_ends_verified(model):
    out = _run("bench_batch.py", "--macs", "20", "--cause6-macs", "2", "--cause6-wait", "0", "--baseline-macs", "5", "--model", model)
    rows = _rows(out)
    fleet = rows["20"]
    cause6 = next(r for k, r in rows.items() if k.startswith(f"cause6 ({model})"))
    assert "2 of 2 verified" in cause6[2], cause6
    if model == "legacy":
        assert fleet[3] == "80" and fleet[6].endswith("×")  # 2 stale Intune records + 2 Entra devices per Mac
        assert "deleted Jamf/Entra/Intune 2/2/2" in cause6[3]
    else:
        # nothing stale and no Intune record: nothing deleted, and Intune's write limit sets no floor
        assert fleet[3] == "0" and fleet[5] == "0.0 s" and fleet[6] == "n/a", fleet
        assert "deleted Jamf/Entra/Intune 2/2/0" in cause6[3]
    assert re.search(r"one wait \+ [\d.]+ s of work", cause6[-1])
