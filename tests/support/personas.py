"""For tests of `cleanup lab demo --as`: catch the emulated tenant a persona starts, and read what it holds and who
it let in, independently of what the demo says about it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cleanup.lab.simmac.snapshot import tree_manifest

#: requests that may change something; a POST is one unless it asks for a token or carries a $batch (whose items
#: are counted under their own routes)
WRITE_METHODS = ("DELETE", "PATCH", "PUT")
_NOT_WRITES = ("POST /{tenant}/oauth2/v2.0/token", "POST /api/oauth/token", "POST /api/v1/auth/token", "POST /v1.0/$batch")


def capture_tenants(monkeypatch, module, name: str, snapshot_mac: bool = False) -> list[tuple]:
    """Wrap ``module.name`` (a function that returns the tenant server, or takes it first): each call appends
    (server, Mac root or None, the Mac's manifest or None, the tenant's records) as they were when it returned."""
    seen: list[tuple] = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        server = result if hasattr(result, "tenant") else args[0]
        mac = Path(args[1]["root"]) if snapshot_mac else None
        seen.append((server, mac, tree_manifest(mac) if mac else None, records(server.tenant)))
        return result

    monkeypatch.setattr(module, name, wrapper)
    return seen


def records(tenant) -> dict:
    with tenant.lock:
        return {
            "jamf": {k: dataclasses.asdict(v) for k, v in tenant.jamf.items()},
            "entra": {k: dataclasses.asdict(v) for k, v in tenant.entra.items()},
            "intune": {k: dataclasses.asdict(v) for k, v in tenant.intune.items()},
            "groups": {k: dict(v) for k, v in tenant.groups.items()},
            "secrets_viewed": list(tenant.escrow.views),
        }


def principals(server) -> dict[str, set[str]]:
    """Who got tokens: Jamf Pro clients and users by their lab name, Graph apps by client id."""
    store = server.service.tokens
    with store._lock:
        return {"jamf": {g.principal for g in store._jamf.values()}, "graph": {g.client_id for g in store._graph.values()}}


def writes(by_route: dict[str, int]) -> list[str]:
    return [r for r in by_route if r.split(" ", 1)[0] in WRITE_METHODS or (r.startswith("POST ") and r not in _NOT_WRITES)]
