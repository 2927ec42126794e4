"""The lab's side of `cleanup lab demo --as`: what each user's path needs from the world and how to prove what it
did there. The client files of the read-only identities (the helpdesk's), what the tenant holds and who asked it
for what, a flagged fleet of simulated Macs (the batch's), and the Jamf policy script of the project folder."""

from __future__ import annotations

import copy
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.common import project_dir
from cleanup.lab.simmac.tenant_link import link
from cleanup.lab.tenant.scenarios import DAY, _mac_everywhere

POLICY_SCRIPT = "scripts/jamf/cleanup-policy.sh"
#: the smart group an extension attribute of cleanup's (docs/jamf.md) would fill with the broken Macs
FLAGGED_GROUP = "Intune registration broken"
FLAGGED_GROUP_ID = "5"
_READS = ("GET",)
_TOKEN_ROUTES = ("POST /{tenant}/oauth2/v2.0/token", "POST /api/oauth/token", "POST /api/v1/auth/token")
_SESSION_ROUTES = ("POST /api/v1/auth/keep-alive", "POST /api/v1/auth/invalidate-token")
_BATCH_ROUTE = "POST /v1.0/$batch"


def write_client_files(server, directory: Path, identity: str = "full") -> dict[str, str]:
    """``config.toml`` and ``secrets.env`` (0600) for the tenant's Jamf Pro API client and Graph app named
    ``identity`` (``full`` or ``readonly``); returns the environment a `cleanup` process needs to use them."""
    directory = Path(directory)
    if identity == "full":
        server.write_client_files(directory)
        return cloud_env(directory)
    creds = server.credentials
    jamf, graph = creds["jamf_clients"][identity], creds["graph_apps"][identity]
    swap = {
        f'client_id = "{creds["jamf_clients"]["full"]["client_id"]}"': f'client_id = "{jamf["client_id"]}"',
        f'client_id = "{creds["graph_apps"]["full"]["client_id"]}"': f'client_id = "{graph["client_id"]}"',
    }
    with tempfile.TemporaryDirectory() as tmp:  # the lab's files name the full identities: theirs take their place
        server.write_client_files(Path(tmp))
        lines = (Path(tmp) / "config.toml").read_text().splitlines()
    if sum(line in swap for line in lines) != len(swap):  # never fall back to the full identities unseen
        raise RuntimeError('the lab\'s config.toml no longer names the client ids as `client_id = "..."` lines')
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.toml").write_text("\n".join(swap.get(line, line) for line in lines) + "\n")
    fd = os.open(directory / "secrets.env", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that was there
    with os.fdopen(fd, "w") as fh:
        fh.write(f"CLEANUP_JAMF_CLIENT_SECRET={jamf['client_secret']}\nCLEANUP_GRAPH_CLIENT_SECRET={graph['client_secret']}\n")
    return cloud_env(directory)


def cloud_env(directory: Path) -> dict[str, str]:
    """What `export CLEANUP_CONFIG=DIR/config.toml; set -a; . DIR/secrets.env` gives a shell."""
    env = {"CLEANUP_CONFIG": str(Path(directory) / "config.toml")}
    for line in (Path(directory) / "secrets.env").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return env


def identities(server, identity: str) -> dict[str, str]:
    """The client ids of the named identity, for messages: {"jamf": id, "graph": id}."""
    creds = server.credentials
    return {"jamf": creds["jamf_clients"][identity]["client_id"], "graph": creds["graph_apps"][identity]["client_id"]}


def tenant_records(tenant) -> dict:
    """Everything the tenant holds that a run could change, as comparable data."""
    with tenant.lock:
        return copy.deepcopy(
            {
                "jamf": {k: dataclasses.asdict(v) for k, v in tenant.jamf.items()},
                "entra": {k: dataclasses.asdict(v) for k, v in tenant.entra.items()},
                "intune": {k: dataclasses.asdict(v) for k, v in tenant.intune.items()},
                "groups": tenant.groups,
                "deleted": tenant.deleted,
                "mdm_commands": tenant.mdm_commands,
                "secrets_viewed": tenant.escrow.views,  # viewing a LAPS password rotates it
            }
        )


def requests_seen(server) -> dict:
    """Who asked the tenant for what: the requests by kind and the identities that got tokens."""
    stats = server.stats()
    by_route = stats["by_route"]
    tokens = sum(n for route, n in by_route.items() if route in _TOKEN_ROUTES)
    batches = by_route.get(_BATCH_ROUTE, 0)
    reads = sum(n for route, n in by_route.items() if route.split(" ", 1)[0] in _READS)
    not_writes = (*_TOKEN_ROUTES, *_SESSION_ROUTES, _BATCH_ROUTE)
    writes = {route: n for route, n in by_route.items() if route.split(" ", 1)[0] not in _READS and route not in not_writes}
    return {"reads": reads, "tokens": tokens, "batches": batches, "batch_items": stats["batch_items"], "writes": writes, "principals": _principals(server)}


def _principals(server) -> dict[str, list[str]]:
    # the emulator keeps no request log by caller; its token grants say who was let in
    store = server.service.tokens
    with store._lock:
        graph = sorted({g.client_id for g in store._graph.values()})
        jamf = sorted({g.principal for g in store._jamf.values()})
    creds = server.credentials
    jamf_ids = [creds["jamf_clients"][p]["client_id"] if p in creds["jamf_clients"] else f"user {p}" for p in jamf]
    return {"jamf": jamf_ids, "graph": graph}


def seed_flagged_fleet(server, fleet: Path, count: int) -> list[dict]:
    """``count`` simulated Macs under ``fleet/SERIAL``, linked to the tenant, each registered once correctly plus
    one stale registration (an old Entra device and an Intune record), and all of them in the smart group
    :data:`FLAGGED_GROUP`. The tenant's own unrelated devices and Macs stay out of the group."""
    tenant, now = server.tenant, time.time()
    with tenant.lock:
        tenant.groups[FLAGGED_GROUP_ID] = {"id": FLAGGED_GROUP_ID, "name": FLAGGED_GROUP, "smartGroup": True}
    macs = []
    for i in range(1, count + 1):
        serial, name, upn = f"C02FLEET{i:04d}", f"MBP-FLEET-{i}", f"user{i}@contoso.example"
        root = fleet / serial
        info = create_sim_mac(root, users=["alice"], serial=serial, computer_name=name)
        link(str(root), server.url, str(server.ca_pem))
        with tenant.lock:
            _mac_everywhere(tenant, serial, name, upn, info["device_ids"]["alice"], now)
            stale = tenant.add_entra_device(name, registered=now - 120 * DAY, last_sign_in=now - 45 * DAY)
            tenant.add_intune_device(serial, name, stale.device_id, upn=upn, enrolled=now - 120 * DAY, last_sync=now - 45 * DAY, compliance="noncompliant")
            tenant.jamf_by_serial(serial)[-1].groups.append(FLAGGED_GROUP_ID)
        macs.append({"serial": serial, "name": name, "root": root})
    return macs


def records_of(tenant, serial: str, name: str) -> dict[str, int]:
    """How many records each system holds for one Mac (Entra by name: the fleet's Macs have unique names)."""
    with tenant.lock:
        return {
            "jamf": sum(c.serial == serial for c in tenant.jamf.values()),
            "entra": sum(d.display_name == name for d in tenant.entra.values()),
            "intune": sum(d.serial == serial for d in tenant.intune.values()),
        }


def policy_script() -> Path | None:
    """``scripts/jamf/cleanup-policy.sh`` of the project folder this cleanup runs from (a source checkout), found
    the way the simulated Mac's fakes find the project; None where there is none (a wheel install)."""
    path = Path(project_dir()) / POLICY_SCRIPT
    return path if path.is_file() else None
