"""`cleanup lab demo --scenario device-compliance | platform-sso`: the whole reset of a Mac registered the 2026 way,
against a tenant of the same model, ends verified for that model; on the Platform SSO Mac the user's repair is the
pause the run waits for, and what Platform SSO needs is still there afterwards."""

from __future__ import annotations

import re

import pytest

from tests.support.lab import run_cli


def _demo(tmp_path, state_dir, scenario: str):
    res = run_cli("lab", "demo", "--scenario", scenario, "--keep", tmp_path / "demo", "--wait-seconds", "0", state_dir=state_dir, timeout=300)
    assert res.returncode == 0, res.stderr
    assert re.search(r"run \S+: done", res.stdout), res.stdout
    return res.stdout


@pytest.mark.slow
def test_the_device_compliance_demo_ends_verified_with_no_intune_record(tmp_path, state_dir):
    out = _demo(tmp_path, state_dir, "device-compliance")
    assert "Registration model: device-compliance" in out
    assert "cleaned as alice:" in out and "Jamf Conditional Access' clean" in out  # before the framework goes
    assert "no Intune record to delete" in out
    assert "✓ verified (Device Compliance)" in out
    assert "Intune: deleted 0, new 0, kept 0" in out and "Entra ID: deleted 1, new 1" in out


@pytest.mark.slow
def test_the_platform_sso_demo_waits_for_the_repair_and_keeps_what_platform_sso_needs(tmp_path, state_dir):
    out = _demo(tmp_path, state_dir, "platform-sso")
    assert "Registration model: platform-sso" in out
    new_id = re.search(r"repairs Platform SSO .*: new deviceId ([0-9a-f-]{36})", out)
    assert new_id, out
    assert re.search(rf"✓ verified \(Platform SSO\): .*\(deviceId {new_id.group(1)}\)", out)
    mac = tmp_path / "demo" / "mac"
    assert (mac / "Applications/Company Portal.app/Contents/PlugIns/Mac SSO Extension.appex").is_dir()
    for home in ("alice", "bob"):
        assert (mac / f"Users/{home}/Library/Group Containers/UBF8T346G9.com.microsoft.entrabroker").is_dir()
