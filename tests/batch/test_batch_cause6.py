"""A cause6 batch over 20 simulated Macs: device steps on each Mac, cloud steps in the tenant, one wait for all.
One Mac's host is unreachable and one has an ambiguous Entra match: they are reported, the rest are fixed."""

from __future__ import annotations

import time

import pytest

from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.tenant_link import link
from cleanup.lab.tenant.model import new_guid
from cleanup.lab.tenant.scenarios import _mac_everywhere
from tests.support.envelope import batch_result
from tests.support.lab import run_cli

N = 20


@pytest.mark.slow
def test_cause6_batch_fixes_the_right_macs_and_reports_the_rest(make_lab, state_dir, tmp_path):
    lab = make_lab("empty")
    t = lab.tenant
    hosts, serials = [], []
    now = time.time()
    for i in range(1, N + 1):
        serial, name = f"C02BATCH{i:04d}", f"MBP-BATCH-{i}"
        root = tmp_path / "fleet" / serial
        info = create_sim_mac(root, users=["alice"], serial=serial, computer_name=name)
        link(str(root), lab.server.url, str(lab.server.ca_pem))
        did = info["device_ids"]["alice"]
        if i == 2:  # ambiguous: no record knows its deviceId, and two Entra devices carry its name
            t.add_jamf_computer(serial, name)
            t.add_intune_device(serial, name, "")
            t.add_entra_device(name, new_guid())
            t.add_entra_device(name, new_guid())
        else:
            _mac_everywhere(t, serial, name, "alice@example.com", did, now)
        hosts.append(f"{serial} sim:{root if i != 3 else tmp_path / 'unreachable'}")
        serials.append(serial)
    (tmp_path / "serials.txt").write_text("\n".join(serials) + "\n")
    (tmp_path / "hosts.txt").write_text("\n".join(hosts) + "\n")
    t0 = time.time()
    res = run_cli(
        "batch",
        "run",
        "--playbook",
        "cause6",
        "--serials-file",
        tmp_path / "serials.txt",
        "--hosts-file",
        tmp_path / "hosts.txt",
        "--yes",
        "--wait-seconds",
        "3",
        "--max-deletions",
        "100",
        "--json",
        env=lab.env(),
        state_dir=state_dir,
        timeout=900,
    )
    took = time.time() - t0
    assert res.returncode == 1, res.stderr[-3000:]  # two Macs not repaired
    out = batch_result(res.stdout)
    states = {m["serial"]: m["state"] for m in out["macs"]}
    assert states.pop("C02BATCH0002") == "refused" and states.pop("C02BATCH0003") == "failed"
    assert set(states.values()) == {"done"}
    by = {m["serial"]: m for m in out["macs"]}
    assert "--entra-device" in by["C02BATCH0002"]["outcome"] and "not a simulated Mac" in by["C02BATCH0003"]["outcome"]
    # the ambiguous Mac and the unreachable one lost nothing in the cloud
    for sn in ("C02BATCH0002", "C02BATCH0003"):
        assert t.jamf_by_serial(sn) and t.intune_by_serial(sn)
    for sn in states:  # every fixed Mac: exactly one new record in each system, managed by Jamf
        assert len(t.jamf_by_serial(sn)) == 1 and len(t.intune_by_serial(sn)) == 1
        assert t.intune_by_serial(sn)[0].management_agent == "jamf"
        assert len(by[sn]["deleted"]) == 3
    # one 3-second wait for the whole batch, not one per Mac
    assert took < 3 * N


@pytest.mark.slow
def test_no_wait_exits_3_and_the_next_scheduled_run_picks_the_waits_up(make_lab, state_dir, tmp_path):
    lab = make_lab("empty")
    now = time.time()
    serials = []
    for i in (1, 2):
        serial, name = f"C02WAITS{i:04d}", f"MBP-WAITS-{i}"
        root = tmp_path / "fleet" / serial
        info = create_sim_mac(root, users=["alice"], serial=serial, computer_name=name)
        link(str(root), lab.server.url, str(lab.server.ca_pem))
        _mac_everywhere(lab.tenant, serial, name, "alice@example.com", info["device_ids"]["alice"], now)
        serials.append(serial)
    (tmp_path / "serials.txt").write_text("\n".join(serials))
    args = (
        "batch",
        "run",
        "--playbook",
        "cause6",
        "--serials-file",
        tmp_path / "serials.txt",
        "--host-template",
        f"sim:{tmp_path / 'fleet'}/{{serial}}",
        "--yes",
        "--no-wait",
        "--wait-seconds",
        "11",
        "--json",
    )
    first = run_cli(*args, env=lab.env(), state_dir=state_dir, timeout=300)
    assert first.returncode == 3, first.stderr[-2000:]
    assert {m["state"] for m in batch_result(first.stdout)["macs"]} == {"waiting"}
    waiting = batch_result(first.stdout)["macs"]
    time.sleep(max(0.0, max(m["not_before"] for m in waiting) - time.time()) + 0.2)
    second = run_cli(*args, env=lab.env(), state_dir=state_dir, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "continuing batch" in second.stderr
    out = batch_result(second.stdout)
    assert out["batch_id"] == batch_result(first.stdout)["batch_id"] and {m["state"] for m in out["macs"]} == {"done"}
