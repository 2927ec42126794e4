"""The emulated tenant in its 2026 scenarios, with cleanup's real cloud clients (real TLS, real msal) opened on it
under any of the tenant's credentials, or under credentials made for a test (``grant``)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from cleanup.lab.tenant import MacIdentity, Tenant, TenantServer, seed
from tests.support.clienthelpers import cloud_parts

MAC_IDS = ["34b1ba9a-3b2d-4c6c-ab4b-615f4b143eab", "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "0b9e3c1a-7d2f-4e8a-9c5b-1f2e3d4c5b6a"]


class Tenant2026:
    def __init__(self, server: TenantServer, mac: MacIdentity):
        self.server, self.mac = server, mac
        self._sessions: list = []

    @property
    def tenant(self) -> Tenant:
        return self.server.tenant

    def cloud(self, **kw):
        """A CloudSession for the named credentials (cloud_parts' keywords: graph=, jamf=, ...)."""
        from cleanup.clients.session import CloudSession

        session = CloudSession(*cloud_parts(self.server, **kw))
        self._sessions.append(session)
        return session

    def grant(self, name: str, *, graph_roles: list[str] | None = None, jamf_privileges: list[str] | None = None) -> None:
        """Credentials named ``name`` holding only what is given: for cloud(graph=name) or cloud(jamf=name)."""
        if graph_roles is not None:
            self.tenant.add_graph_app(name, graph_roles)
        if jamf_privileges is not None:
            role = self.tenant.add_api_role(f"9{len(self.tenant.api_roles)}", name, jamf_privileges)
            self.tenant.add_jamf_client(name, [role["id"]])

    def lab(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """A /_lab/* request as the simulated Mac's fakes send it."""
        ctx = ssl.create_default_context(cafile=str(self.server.ca_pem))
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def close(self) -> None:
        for session in self._sessions:
            session.close()
        self.server.stop()


def tenants_2026(tmp_path: Path) -> Iterator[Callable[..., Tenant2026]]:
    """For a fixture (``yield from tenants_2026(tmp_path)``): ``start(scenario, dc_device=None)`` serves a tenant
    seeded with ``scenario`` for a Mac whose deviceIds are MAC_IDS; ``dc_device`` sets the tenant's Device
    Compliance knob before seeding. Everything started is stopped afterwards."""
    started: list[Tenant2026] = []

    def start(scenario: str = "device-compliance", dc_device: dict | None = None) -> Tenant2026:
        tenant = Tenant()
        if dc_device:
            tenant.set_registration_model("legacy", dc_device)
        mac = MacIdentity(device_ids=list(MAC_IDS))
        seed(tenant, scenario, mac)
        lab = Tenant2026(TenantServer(tmp_path / f"tenant{len(started)}", tenant=tenant).start(), mac)
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.close()
