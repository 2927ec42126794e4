"""Fixtures for the cloud side: an emulated tenant over real HTTPS and simulated Macs linked to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.tenant_link import link
from cleanup.lab.tenant import Faults, MacIdentity, start_tenant


class Lab:
    """One emulated tenant, the client files that point cleanup at it, and the Mac(s) it knows."""

    def __init__(self, tmp: Path, scenario: str, faults: Faults | None, users: list[str], logged_out: list[str], mac_scenario: str = "default"):
        self.tmp = tmp
        self.mac = tmp / "mac"
        self.info = create_sim_mac(self.mac, users=users, logged_out=logged_out, scenario=mac_scenario)
        ids = [self.info["device_ids"][u] for u in users if u in self.info["device_ids"]]
        self.identity = MacIdentity(serial=self.info["serial"], name=self.info["computer_name"], device_ids=ids,
                                    user_upn=f"{users[0]}@example.com")
        self.server = start_tenant(tmp / "tenant", scenario=scenario, mac=self.identity, faults=faults)
        self.client = tmp / "client"
        self.client.mkdir()
        self.server.write_client_files(self.client)
        link(str(self.mac), self.server.url, str(self.server.ca_pem))
        self.secrets = dict(line.split("=", 1) for line in (self.client / "secrets.env").read_text().splitlines() if "=" in line)

    @property
    def tenant(self):
        return self.server.tenant

    @property
    def serial(self) -> str:
        return self.info["serial"]

    def env(self, graph: str = "full", jamf: str = "full", **extra) -> dict:
        """Environment for the CLI: the lab config plus the secrets of the named credentials."""
        creds = self.server.credentials
        cfg = (self.client / "config.toml").read_text()
        jc, gc = creds["jamf_clients"][jamf], creds["graph_apps"][graph]
        cfg_path = self.tmp / f"config-{jamf}-{graph}.toml"
        cfg_path.write_text(cfg.replace(creds["jamf_clients"]["full"]["client_id"], jc["client_id"])
                               .replace(creds["graph_apps"]["full"]["client_id"], gc["client_id"]))
        return {"CLEANUP_CONFIG": str(cfg_path), "CLEANUP_JAMF_CLIENT_SECRET": jc["client_secret"],
                "CLEANUP_GRAPH_CLIENT_SECRET": gc["client_secret"], **extra}

    def records(self) -> dict:
        """What the tenant holds, as comparable data (ids per service)."""
        t = self.tenant
        with t.lock:
            return {"jamf": sorted(t.jamf), "entra": sorted(t.entra), "intune": sorted(t.intune)}

    def deleted(self) -> list[tuple[str, str]]:
        return [(d["service"], d["id"]) for d in self.tenant.deleted]

    def of_serial(self) -> dict:
        t, sn = self.tenant, self.serial
        with t.lock:
            return {"jamf": sorted(c.id for c in t.jamf.values() if c.serial == sn),
                    "intune": sorted(d.id for d in t.intune.values() if d.serial == sn)}

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def make_lab(tmp_path):
    labs: list[Lab] = []

    def make(scenario: str = "clean", faults: Faults | None = None, users=("alice",), logged_out=(), name: str = "lab",
             mac_scenario: str = "default") -> Lab:
        d = tmp_path / name
        d.mkdir()
        lab = Lab(d, scenario, faults, list(users), list(logged_out), mac_scenario)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.stop()


def audit_events(state_dir: Path) -> list[dict]:
    runs = sorted((state_dir / "runs").iterdir())
    return [json.loads(line) for line in (runs[-1] / "audit.jsonl").read_text().splitlines()]
