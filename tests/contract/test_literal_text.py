"""Names from a Mac are data: text output prints them literally, never as rich markup (issue 10, point 6)."""

from __future__ import annotations

import pytest

from tests.support.envelope import parse
from tests.support.lab import run_cli

NAMES = ["MBP [/]", "Bob's Mac [loaner]", "[bold red]x[/] \\[y]"]


@pytest.mark.parametrize("name", NAMES)
def test_plan_prints_the_computer_name_literally(make_mac, state_dir, name):
    mac = make_mac(computer_name=name, logged_out=[])
    res = run_cli("plan", "--host", f"sim:{mac}", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert f"({name})" in res.stdout
    assert parse(run_cli("plan", "--host", f"sim:{mac}", "--json", state_dir=state_dir), "plan")["facts"]["computer_name"] == name


@pytest.mark.parametrize("name", NAMES[:2])
def test_run_status_and_diagnose_print_it_literally(make_mac, state_dir, name):
    mac = make_mac(computer_name=name, logged_out=[])
    ran = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--to", "1", state_dir=state_dir)
    assert ran.returncode == 0, ran.stderr
    listed = run_cli("status", state_dir=state_dir)
    assert listed.returncode == 0 and name in listed.stdout, listed.stdout + listed.stderr
    one = run_cli("status", "--latest", state_dir=state_dir)
    assert one.returncode == 0 and f"({name})" in one.stdout, one.stdout + one.stderr
    diagnosed = run_cli("diagnose", "--host", f"sim:{mac}", state_dir=state_dir)
    assert diagnosed.returncode == 0, diagnosed.stderr
