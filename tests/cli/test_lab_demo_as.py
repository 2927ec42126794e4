"""`cleanup lab demo --as helpdesk | batch | jamf-policy`: each user's path in the lab does what that user's real
commands do. The demo's own claims are not trusted: the tests capture the emulated tenant the demo starts and look
at it, at the simulated Macs and at the state folder themselves."""

from __future__ import annotations

import json

import pytest

from cleanup.cli import lab_batch_demo, lab_demo, lab_policy_demo
from cleanup.cli.lab_personas import run_persona
from cleanup.errors import UsageError
from cleanup.lab.simmac.snapshot import tree_manifest
from cleanup.lab.tenant.jamf_versions import CURRENT_VERSION
from tests.support.lab import run_cli
from tests.support.personas import capture_tenants, principals, records, writes

READONLY_JAMF, READONLY_GRAPH = "7c2d9e4f-1a3b-4c5d-8e6f-2b1a0c9d8e7f", "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a"


def test_helpdesk_plans_the_whole_reset_with_the_read_only_identities_and_changes_nothing(tmp_path, monkeypatch, capsys):
    seen = capture_tenants(monkeypatch, lab_demo, "lab_tenant", snapshot_mac=True)
    run_persona("helpdesk", tmp_path, 5, "intune-duplicates", CURRENT_VERSION)
    out = capsys.readouterr().out
    [(server, mac, mac_before, cloud_before)] = seen
    assert "$ cleanup plan --host sim:" in out and "Nothing was changed." in out
    assert "delete Entra device" in out and "delete Intune device" in out and "remove /Library/Application Support/com.microsoft.CompanyPortal" in out
    assert tree_manifest(mac) == mac_before
    assert records(server.tenant) == cloud_before and server.tenant.deleted == []
    assert principals(server) == {"jamf": {"readonly"}, "graph": {READONLY_GRAPH}}
    by_route = server.stats()["by_route"]
    assert by_route, "the dry-run asked the tenant nothing"
    assert writes(by_route) == []
    assert not (tmp_path / "state" / "runs").exists()
    config = (tmp_path / "helpdesk" / "config.toml").read_text()
    assert READONLY_JAMF in config and READONLY_GRAPH in config
    assert (tmp_path / "helpdesk" / "secrets.env").stat().st_mode & 0o077 == 0
    assert "On a real fleet, the helpdesk" in out and "cleanup plan --host ssh://" in out


def test_a_bad_as_is_one_line_and_status_2(tmp_path, state_dir):
    res = run_cli("lab", "demo", "--as", "manager", "--keep", tmp_path / "demo", state_dir=state_dir)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ["error: --as takes helpdesk, technician, batch, jamf-policy, not 'manager'"]
    assert not (tmp_path / "demo").exists()


def test_scenario_does_not_apply_to_the_batch(tmp_path, state_dir):
    res = run_cli("lab", "demo", "--as", "batch", "--scenario", "clean", "--keep", tmp_path / "demo", state_dir=state_dir)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
def test_batch_resets_the_flagged_group_and_nothing_else(tmp_path, monkeypatch, capsys):
    seen = capture_tenants(monkeypatch, lab_batch_demo, "seed_flagged_fleet")
    run_persona("batch", tmp_path, 1, "intune-duplicates", CURRENT_VERSION)
    out = capsys.readouterr().out
    [(server, _, _, before)] = seen
    tenant = server.tenant
    fleet = sorted(p.name for p in (tmp_path / "fleet").iterdir())
    assert len(fleet) == 3
    for serial in fleet:
        old = [c for c in before["jamf"].values() if c["serial"] == serial]
        assert len(old) == 1 and tenant.jamf.get(old[0]["id"]) is None  # the old record went, a new one came
        assert len(tenant.jamf_by_serial(serial)) == 1
        [intune] = tenant.intune_by_serial(serial)
        assert intune.management_agent == "jamf" and intune.id not in before["intune"]
        assert not (tmp_path / "fleet" / serial / "Applications/Company Portal.app").exists()
    deleted = {(d["service"], d["id"]) for d in tenant.deleted}
    assert len(deleted) == 15  # per Mac: its Jamf record, 2 Entra devices, 2 Intune records
    untouched = {k: v for k, v in before["intune"].items() if v["serial"] not in fleet}
    assert untouched and all(records(tenant)["intune"].get(k) == v for k, v in untouched.items())
    assert "$ cleanup batch run --group 'Intune registration broken' --playbook cause6" in out and "--dry-run" in out
    assert "cleanup batch resume --latest" in out and "report.html" in out
    assert "On a real fleet, the fleet admin" in out


@pytest.mark.slow
def test_jamf_policy_runs_the_device_half_then_the_cloud_half_ends_verified(tmp_path, monkeypatch, capsys):
    seen = capture_tenants(monkeypatch, lab_demo, "lab_tenant", snapshot_mac=True)
    run_persona("jamf-policy", tmp_path, 1, "intune-duplicates", CURRENT_VERSION)
    out = capsys.readouterr().out
    [(server, mac, _, before)] = seen
    tenant, serial = server.tenant, "C02ZK1ABMD6M"
    old_jamf = [k for k, c in before["jamf"].items() if c["serial"] == serial]
    [record] = tenant.jamf_by_serial(serial)
    assert old_jamf and record.id not in old_jamf
    [intune] = tenant.intune_by_serial(serial)
    assert intune.management_agent == "jamf" and intune.id not in before["intune"]
    assert tenant.entra_by_device_id(intune.aad_device_id) is not None
    [device_run] = [p.name for p in (tmp_path / "state" / "runs").iterdir()]  # the policy run twice, one run
    assert json.loads((tmp_path / "state" / "runs" / device_run / "state.json").read_text())["status"] == "done"
    [cloud_run] = [p.name for p in (tmp_path / "admin" / "state" / "runs").iterdir()]
    state = json.loads((tmp_path / "admin" / "state" / "runs" / cloud_run / "state.json").read_text())
    assert state["status"] == "done" and state["host"] != f"sim:{mac}"
    assert {s["id"]: s["state"] for s in state["steps"]}["verify-registration"] == "done"
    assert "$ sh scripts/jamf/cleanup-policy.sh / MBP-ALICE alice reset all 0 auto" in out
    assert f"[{device_run}]  2 remove-mdm-profile:" in out and "\x1b" not in out  # the policy's plain log, run id on each line
    shown = [json.loads(line) for line in (mac / ".lab" / "notifications.jsonl").read_text().splitlines()]
    assert [n["message"] for n in shown] == [lab_policy_demo.RESTART_TEXT, lab_policy_demo.REGISTER_TEXT]
    assert "On a real fleet, the Jamf admin" in out


def test_jamf_policy_without_the_script_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(lab_policy_demo, "policy_script", lambda: None)
    with pytest.raises(UsageError, match=r"runs scripts/jamf/cleanup-policy.sh of a source checkout"):
        run_persona("jamf-policy", tmp_path / "demo", 1, "intune-duplicates", CURRENT_VERSION)
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
def test_as_technician_is_the_default_demo_with_the_technicians_command_lines(tmp_path, state_dir):
    res = run_cli("lab", "demo", "--as", "technician", "--keep", tmp_path / "demo", "--wait-seconds", "0", state_dir=state_dir, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "Running all 13 steps" in res.stdout and "✓ verified" in res.stdout
    assert "On a real fleet, the technician" in res.stdout and "sudo cleanup run --serial C02ZK1ABMD6M" in res.stdout
    assert res.stdout.rstrip().splitlines()[-1].strip().startswith("cleanup escrow show C02ZK1ABMD6M --kind filevault ")
