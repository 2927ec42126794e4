"""Scenario contents, lab endpoints and the client files."""

from __future__ import annotations

import json
import stat
import tomllib

import pytest

from cleanup.errors import UsageError
from cleanup.lab.tenant import SCENARIOS, MacIdentity, Tenant, seed
from cleanup.lab.tenant.scenarios import MODELS

COUNTS = {  # (jamf, entra, intune)
    "clean": (4, 7, 7),
    "intune-duplicates": (4, 9, 9),
    "stale-entra": (4, 8, 7),
    "two-jamf-records": (5, 7, 7),
    "look-alikes": (5, 9, 8),
    "wiped": (3, 6, 6),
    "empty": (0, 0, 0),
    **dict.fromkeys(
        [
            "cause1-permissions",
            "cause1-no-consent",
            "cause2-no-connector",
            "cause3-no-licence",
            "cause5-partner-disabled",
            "device-group-policy",
            "unresponsive",
            "compliance-mismatch",
        ],
        (4, 7, 7),
    ),  # "clean" plus one seeded cause (the integration set-up lives apart)
}


@pytest.mark.parametrize("scenario", sorted(set(SCENARIOS) - set(MODELS)))  # the 2026 ones: tests/lab/test_tenant_2026.py
def test_scenario_counts(scenario):
    mac = MacIdentity()
    t = seed(Tenant(), scenario, mac)
    assert (len(t.jamf), len(t.entra), len(t.intune)) == COUNTS[scenario]
    assert len(mac.device_ids) == 1
    if scenario in ("wiped", "empty"):
        assert not t.jamf_by_serial(mac.serial) and not t.entra_by_name(mac.name)
        return
    look_alike = [c.serial for c in t.jamf.values() if c.serial != mac.serial and c.serial[:-1] == mac.serial[:-1]]
    assert len(look_alike) == 1
    assert {d.operating_system for d in t.entra.values()} == {"MacMDM", "Windows", "iOS"}
    current = t.entra_by_device_id(mac.device_ids[0])
    assert current.display_name == mac.name and current.trust_type == "Workplace"
    assert any(i.aad_device_id == mac.device_ids[0] and i.management_agent == "jamf" for i in t.intune_by_serial(mac.serial))


def test_scenario_details():
    mac = MacIdentity(device_ids=["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"])
    t = seed(Tenant(), "intune-duplicates", mac)
    records = sorted(t.intune_by_serial(mac.serial), key=lambda r: -r.last_sync)
    assert [r.management_agent for r in records] == ["jamf", "jamf", "mdm"]
    assert records[0].aad_device_id == mac.device_ids[0] and records[1].aad_device_id == mac.device_ids[1]
    assert all(t.entra_by_device_id(r.aad_device_id) for r in records)

    t = seed(Tenant(), "stale-entra", MacIdentity())
    named = t.entra_by_name("MBP-ALICE")
    assert len(named) == 2
    stale = min(named, key=lambda d: d.registered)
    assert not t.intune_by_aad(stale.device_id)

    t = seed(Tenant(), "two-jamf-records", MacIdentity())
    old, new = sorted(t.jamf_by_serial("C02ZK1ABMD6M"), key=lambda c: c.last_contact)
    assert old.udid != new.udid and new.last_contact - old.last_contact > 86400 * 30

    t = seed(Tenant(), "look-alikes", MacIdentity())
    names = {d.display_name for d in t.entra.values()}
    assert {"MBP-ALICE", "MBP-ALICE-2", "mbp-alice-old"} <= names
    twin = [c for c in t.jamf.values() if c.name == "MBP-ALICE-2"]
    assert len(twin) == 1 and twin[0].serial != "C02ZK1ABMD6M"

    with pytest.raises(UsageError):
        seed(Tenant(), "nope", MacIdentity())


def test_many_flagged_macs_are_indexed():
    t = Tenant()
    serials = t.add_flagged_macs(2000)
    assert len(t.jamf) == len(t.entra) == len(t.intune) == 2000
    assert t.jamf_by_serial(serials[1234])[0].serial == serials[1234]
    assert t.intune_by_serial(serials[5])[0].device_name == "MAC-FLG-6"


def test_lab_endpoints(client, mac):
    r = client.post("/_lab/jamf/enroll", json={"serial": mac.serial, "name": mac.name})
    new_id = r.json()["id"]
    rec = client.server.tenant.jamf[new_id]
    assert rec.managed and rec.serial == mac.serial and len(client.server.tenant.jamf_by_serial(mac.serial)) == 2
    r = client.post("/_lab/register", json={"serial": mac.serial, "name": mac.name, "user_upn": mac.user_upn})
    reg = r.json()
    dev = client.server.tenant.entra[reg["entra_id"]]
    assert dev.device_id == reg["deviceId"] and dev.operating_system == "MacMDM" and dev.trust_type == "Workplace"
    managed = client.server.tenant.intune[reg["intune_id"]]
    assert managed.aad_device_id == reg["deviceId"] and managed.management_agent == "jamf"
    assert client.post("/_lab/register", json={"serial": "X"}).status_code == 400

    state = client.lab_state()
    assert {"jamf", "entra", "intune", "deleted", "mdm_commands"} <= set(state)
    assert len(state["jamf"]) == 5 and state["scenario"] == "clean"
    assert state["mac"]["serial"] == mac.serial

    r = client.post("/_lab/faults", json={"latency_ms": 5, "ignore_managed_filter": True})
    assert r.json()["latency_ms"] == 5 and client.server.faults.ignore_managed_filter is True
    assert client.post("/_lab/faults", json={"bogus": 1}).status_code == 400

    client.get("/api/v1/computer-groups")
    stats = client.get("/_lab/stats").json()
    assert stats["by_route"]["GET /api/v1/computer-groups"] == 1
    assert stats["total"] == 1  # /_lab/* is not counted
    client.server.reset_stats()
    assert client.server.stats()["total"] == 0


def test_write_client_files(tenant, tmp_path):
    info = tenant.write_client_files(tmp_path / "client")
    creds = tenant.credentials
    assert info == {"url": tenant.url, "ca_pem": str(tenant.ca_pem.resolve()), "tenant_id": creds["tenant_id"]}
    config = tomllib.loads((tmp_path / "client/config.toml").read_text())
    assert config == {
        "jamf": {"url": tenant.url, "auth": "client", "client_id": creds["jamf_clients"]["full"]["client_id"]},
        "graph": {
            "tenant_id": creds["tenant_id"],
            "client_id": creds["graph_apps"]["full"]["client_id"],
            "auth": "secret",
            "authority_host": tenant.url,
            "endpoint": tenant.url,
        },
        "tls": {"ca_bundle": str(tenant.ca_pem.resolve())},
    }
    secrets_env = tmp_path / "client/secrets.env"
    assert stat.S_IMODE(secrets_env.stat().st_mode) == 0o600
    lines = dict(line.split("=", 1) for line in secrets_env.read_text().splitlines())
    assert lines == {
        "CLEANUP_JAMF_CLIENT_SECRET": creds["jamf_clients"]["full"]["client_secret"],
        "CLEANUP_GRAPH_CLIENT_SECRET": creds["graph_apps"]["full"]["client_secret"],
    }
    assert json.loads((tmp_path / "client/tenant.json").read_text()) == info
