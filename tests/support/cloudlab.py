"""The cloud lab: an emulated tenant over real HTTPS, its client files, and simulated Macs linked to it."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.tenant_link import link
from cleanup.lab.tenant import Faults, MacIdentity, start_tenant
from cleanup.lab.tenant.fleet import add_duplicated_macs


class Lab:
    """One emulated tenant, the client files that point cleanup at it, and the Mac(s) it knows."""

    def __init__(self, tmp: Path, scenario: str, faults: Faults | None, users: list[str], logged_out: list[str], mac_scenario: str = "default"):
        self.tmp = tmp
        self.mac = tmp / "mac"
        self.info = create_sim_mac(self.mac, users=users, logged_out=logged_out, scenario=mac_scenario)
        ids = [self.info["device_ids"][u] for u in users if u in self.info["device_ids"]]
        self.identity = MacIdentity(serial=self.info["serial"], name=self.info["computer_name"], device_ids=ids, user_upn=f"{users[0]}@example.com")
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
        cfg_path.write_text(
            cfg.replace(creds["jamf_clients"]["full"]["client_id"], jc["client_id"]).replace(creds["graph_apps"]["full"]["client_id"], gc["client_id"])
        )
        return {"CLEANUP_CONFIG": str(cfg_path), "CLEANUP_JAMF_CLIENT_SECRET": jc["client_secret"], "CLEANUP_GRAPH_CLIENT_SECRET": gc["client_secret"], **extra}

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
            return {"jamf": sorted(c.id for c in t.jamf.values() if c.serial == sn), "intune": sorted(d.id for d in t.intune.values() if d.serial == sn)}

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def make_lab(tmp_path):
    labs: list[Lab] = []

    def make(scenario: str = "clean", faults: Faults | None = None, users=("alice",), logged_out=(), name: str = "lab", mac_scenario: str = "default") -> Lab:
        d = tmp_path / name
        d.mkdir()
        lab = Lab(d, scenario, faults, list(users), list(logged_out), mac_scenario)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.stop()
    forget_run_locks(tmp_path)


def forget_run_locks(root: Path) -> None:
    """Remove the shared run locks (hosts/nohost.SHARED_LOCKS) whose label names a state folder under ``root``.

    A cloud-only run locks its serial and cloud in one folder of the machine, and an unfinished run's lock names
    its state folder. A later test whose emulator got the same port (the same Jamf Pro URL, so the same lock)
    would find that run unfinished and be refused, as a real second run on that Mac should be."""
    from cleanup.hosts.nohost import SHARED_LOCKS

    try:
        entries = list(os.scandir(SHARED_LOCKS))
    except OSError:
        return
    for entry in entries:
        try:
            with open(entry.path, "rb") as fh:
                label = json.loads(fh.read(65536) or b"{}")
        except (OSError, ValueError):
            continue
        where = label.get("state_dir") if isinstance(label, dict) else None
        if isinstance(where, str) and Path(where).is_relative_to(root):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def expected_deletes(lab) -> set[tuple[str, str]]:
    t, sn = lab.tenant, lab.serial
    with t.lock:
        intune = [d for d in t.intune.values() if d.serial == sn]
        dids = {d.aad_device_id.casefold() for d in intune} | {i.casefold() for i in lab.identity.device_ids}
        return (
            {("jamf", c.id) for c in t.jamf.values() if c.serial == sn}
            | {("intune", d.id) for d in intune}
            | {("entra", d.id) for d in t.entra.values() if d.device_id.casefold() in dids}
        )


def stale_ids(lab, serials) -> set[tuple[str, str]]:
    """What a correct duplicates batch deletes: every Intune record but the current one, and its Entra device."""
    t = lab.tenant
    out = set()
    with t.lock:
        for sn in serials:
            jamf = t.jamf_by_serial(sn)
            current = {u["computerAzureActiveDirectoryId"] for j in jamf for u in (j.local_users or [])}
            for d in t.intune_by_serial(sn):
                if d.aad_device_id not in current:
                    out.add(("intune", d.id))
                    e = t.entra_by_device_id(d.aad_device_id)
                    if e is not None:
                        out.add(("entra", e.id))
    return out


def fleet(make_lab, n=24, **faults):
    """An empty tenant with ``n`` Macs registered three times each in Intune; returns (lab, serials)."""
    lab = make_lab("empty", faults=Faults(**faults))
    serials = add_duplicated_macs(lab.tenant, n)
    return lab, serials
