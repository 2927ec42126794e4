"""A fresh emulated tenant per test, and a small client that talks to it over real HTTPS."""

from __future__ import annotations

import pytest
import requests

from cleanup.lab.tenant import MacIdentity, start_tenant


class Client:
    """Plain requests with ``verify=<ca>`` on every call; token helpers for Jamf and Graph."""

    def __init__(self, server):
        self.server = server
        self.url = server.url
        self.ca = str(server.ca_pem)
        self.creds = server.credentials
        self.session = requests.Session()

    def request(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.url + path, headers=headers, verify=self.ca, timeout=10, **kw)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.request("POST", path, token, **kw)

    def delete(self, path, token=None, **kw):
        return self.request("DELETE", path, token, **kw)

    def jamf_token(self, name: str = "full") -> str:
        c = self.server.credentials["jamf_clients"][name]
        r = self.post("/api/oauth/token", data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def graph_token(self, name: str = "full") -> str:
        creds = self.server.credentials
        app = creds["graph_apps"][name]
        r = self.post(
            f"/{creds['tenant_id']}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": f"{self.url}/.default"},
        )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def lab_state(self) -> dict:
        return self.get("/_lab/state").json()


@pytest.fixture
def mac() -> MacIdentity:
    return MacIdentity(device_ids=["6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"])


@pytest.fixture
def make_tenant(tmp_path, mac):
    servers = []

    def make(scenario: str = "clean", **kw):
        server = start_tenant(tmp_path / f"tenant{len(servers)}", scenario, mac=kw.pop("mac", mac), **kw)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("clean")


@pytest.fixture
def client(tenant) -> Client:
    c = Client(tenant)
    yield c
    c.session.close()
