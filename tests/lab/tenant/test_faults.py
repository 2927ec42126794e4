"""Injected faults: throttling, server errors, dropped connections, latency, kill-on-delete."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from cleanup.clients.http import HttpClient, HttpSettings
from cleanup.errors import ServiceError
from cleanup.lab.tenant import Faults


def test_429_with_retry_after(client):
    token = client.graph_token()
    jamf = client.jamf_token()
    client.server.faults.rate_429 = 1.0
    client.server.faults.retry_after = 2
    r = client.get("/v1.0/devices", token)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "TooManyRequests"
    r = client.get("/api/v1/computer-groups", jamf)
    assert r.status_code == 429 and r.json()["httpStatus"] == 429
    client.server.faults.retry_after = 0
    assert client.get("/v1.0/devices", token).headers["Retry-After"] == "0"


def test_5xx(client):
    token = client.graph_token()
    client.server.faults.rate_5xx = 1.0
    statuses = {client.get("/v1.0/devices", token).status_code for _ in range(12)}
    assert statuses <= {500, 502, 503} and len(statuses) >= 2


def test_dropped_connections(client):
    token = client.graph_token()
    client.server.faults.drop_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        requests.get(client.url + "/v1.0/devices", headers={"Authorization": f"Bearer {token}"}, verify=client.ca, timeout=5)
    # lab endpoints and discovery are never faulted
    assert requests.get(client.url + "/_lab/stats", verify=client.ca, timeout=5).status_code == 200
    tid = client.creds["tenant_id"]
    assert requests.get(f"{client.url}/{tid}/v2.0/.well-known/openid-configuration", verify=client.ca, timeout=5).status_code == 200


def test_token_endpoints_only_with_token_faults(client):
    faults = client.server.faults
    faults.rate_429 = 1.0
    client.graph_token()
    client.jamf_token()
    faults.token_faults = True
    tid = client.creds["tenant_id"]
    r = client.post(f"/{tid}/oauth2/v2.0/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 429
    assert client.post("/api/oauth/token", data={"grant_type": "client_credentials"}).status_code == 429


def test_latency(client):
    client.server.faults.latency_ms = 150
    start = time.monotonic()
    client.get("/api/v1/computer-groups")
    assert time.monotonic() - start >= 0.15


def test_seeded_faults_are_deterministic(make_tenant):
    def statuses():
        server = make_tenant("empty", faults=Faults(rate_5xx=0.3, rate_429=0.3, seed=42))
        ca = str(server.ca_pem)
        out = [requests.get(server.url + "/v1.0/devices", verify=ca, timeout=5).status_code for _ in range(15)]
        server.stop()
        return out

    first = statuses()
    assert first == statuses() and len(set(first)) >= 2


def test_the_product_http_client_retries_through_faults(client):
    token = client.graph_token()
    faults = client.server.faults
    faults.seed, faults.rate_429, faults.rate_5xx, faults.retry_after = 5, 0.3, 0.3, 0
    http = HttpClient(HttpSettings(ca_bundle=client.ca, max_attempts=20, backoff_base=0.001, backoff_max=0.01))
    client.server.reset_stats()
    r = http.send("GET", client.url + "/v1.0/devices", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and client.server.stats()["total"] >= 1
    faults.rate_429 = 1.0
    http = HttpClient(HttpSettings(ca_bundle=client.ca, max_attempts=3))
    with pytest.raises(ServiceError):
        http.send("GET", client.url + "/v1.0/devices", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("when", ["before", "after"])
def test_kill_on_delete(client, mac, when):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        t = client.server.tenant
        extra = t.add_entra_device("KILL-ME")
        managed_id = t.intune_by_serial(mac.serial)[0].id
        token = client.graph_token()
        # the hook is armed over the lab endpoint, as a test driving a child process would do it
        hook = {"pid": victim.pid, "nth": 2, "when": when}
        assert client.post("/_lab/faults", json={"kill_on_delete": hook}).status_code == 200
        assert client.delete(f"/v1.0/deviceManagement/managedDevices/{managed_id}", token).status_code == 204
        assert victim.poll() is None
        r = client.post("/v1.0/$batch", token, json={"requests": [{"id": "1", "method": "DELETE", "url": f"/devices/{extra.id}"}]})
        assert r.status_code == 200
        assert victim.wait(timeout=5) == -9
        assert (extra.id in t.entra) == (when == "before")
        # fires once
        other = t.add_entra_device("SURVIVOR")
        assert client.delete(f"/v1.0/devices/{other.id}", token).status_code == 204
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()


def test_kill_on_delete_counts_jamf_deletes(client, mac):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        early = client.server.tenant.add_entra_device("DELETED-BEFORE-ARMING")
        assert client.delete(f"/v1.0/devices/{early.id}", client.graph_token()).status_code == 204
        client.server.faults.kill_on_delete = {"pid": victim.pid, "nth": 1, "when": "after"}
        cid = client.server.tenant.jamf_by_serial(mac.serial)[0].id
        client.delete(f"/api/v1/computers-inventory/{cid}", client.jamf_token())
        assert victim.wait(timeout=5) == -9
        assert cid not in client.server.tenant.jamf
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()


def test_stopped_tenant_stops_answering_kept_alive_connections(client):
    assert client.get("/_lab/stats").status_code == 200  # the session now holds a kept-alive connection
    client.server.stop()
    with pytest.raises(requests.ConnectionError):
        client.get("/_lab/stats")
