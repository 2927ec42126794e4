"""scripts/jamf/cleanup-ea.sh, as Jamf Pro runs an extension attribute: one `<result>` line, whatever is installed."""

from __future__ import annotations

import re

from cleanup.diagnose import ea
from tests.support.jamfpolicy import EA, POLICY, run_ea, script_env


def test_it_prints_the_line_of_cleanup_diagnose(make_mac, state_dir):
    mac = make_mac(scenario="device-compliance", users=["alice"])
    res = run_ea(mac, state_dir)
    assert (res.returncode, res.stdout) == (0, f"<result>{ea.REGISTERED_DC}</result>\n"), res.stderr


def test_without_cleanup_it_says_not_installed(state_dir):
    env = script_env(None, state_dir, PATH="/usr/bin:/bin")
    del env["CLEANUP_BIN"]
    res = run_ea(None, state_dir, env=env)
    assert (res.returncode, res.stdout) == (0, "<result>cleanup not installed</result>\n")


def test_a_failing_or_odd_cleanup_is_unknown(make_mac, state_dir):
    mac = make_mac(users=["alice"])
    for command, shown in (("false", "exit 1"), ("echo <result>Registered&</result>", "exit 0")):
        res = run_ea(mac, state_dir, env=script_env(mac, state_dir, CLEANUP_BIN=command))
        assert (res.returncode, res.stdout) == (0, f"<result>Unknown: cleanup diagnose failed ({shown})</result>\n")


def test_both_scripts_find_cleanup_the_same_way():
    """The policy and the extension attribute must agree on which cleanup runs (CLEANUP_BIN, PATH, the zipapp)."""

    def finder(path):
        text = path.read_text()
        head = re.search(r"^PYZ=.*?^PYTHONS=.*?\"\n", text, re.S | re.M).group(0)
        body = re.search(r"^find_cleanup\(\) \{\n.*?^\}\n", text, re.S | re.M).group(0)
        return head, body

    assert finder(EA) == finder(POLICY)
