"""The benchmark scripts still run against the current code (they drive the engine in-process, as a user of it
would): one quick round each, no figures asserted."""

import subprocess
import sys

import pytest

from tests.support.lab import REPO

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("args", [["bench_device.py", "--users", "1", "--repeat", "1"], ["bench_cloud.py", "--repeat", "1", "--latency-ms", "0"]])
def test_a_benchmark_script_runs_one_round(args):
    res = subprocess.run([sys.executable, str(REPO / "scripts" / args[0]), *args[1:]], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "|" in res.stdout  # its table
