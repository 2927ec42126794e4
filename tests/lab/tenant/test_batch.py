"""Graph JSON batching: limits, per-item processing, per-item throttling, dependsOn, shuffled answers."""

from __future__ import annotations


def _batch(client, token, requests_):
    return client.post("/v1.0/$batch", token, json={"requests": requests_})


def _entra_ids(client, n):
    return [client.server.tenant.add_entra_device(f"BATCH-{i:02d}").id for i in range(n)]


def test_deletes_in_a_batch_come_back_shuffled(client):
    ids = _entra_ids(client, 20)
    token = client.graph_token()
    r = _batch(client, token, [{"id": str(i), "method": "DELETE", "url": f"/devices/{oid}"} for i, oid in enumerate(ids)])
    assert r.status_code == 200
    responses = r.json()["responses"]
    assert sorted(int(x["id"]) for x in responses) == list(range(20))
    assert [x["id"] for x in responses] != [str(i) for i in range(20)]
    assert {x["status"] for x in responses} == {204}
    assert all("body" not in x for x in responses)
    assert not set(ids) & set(client.server.tenant.entra)
    stats = client.server.stats()
    assert stats["batch_items"] == 20 and stats["by_route"]["DELETE /v1.0/devices/{object_id}"] == 20


def test_limits_and_malformed_batches(client):
    token = client.graph_token()
    items = [{"id": str(i), "method": "GET", "url": "/devices"} for i in range(21)]
    r = _batch(client, token, items)
    assert r.status_code == 400 and "20" in r.json()["error"]["message"]
    assert _batch(client, token, []).status_code == 400
    assert _batch(client, token, [{"id": "1", "method": "GET", "url": "/devices"}, {"id": "1", "method": "GET", "url": "/devices"}]).status_code == 400
    assert _batch(client, token, [{"id": "1", "method": "GET"}]).status_code == 400
    assert _batch(client, token, [{"id": "1", "method": "GET", "url": f"{client.url}/v1.0/devices"}]).status_code == 400
    assert _batch(client, None, [{"id": "1", "method": "GET", "url": "/devices"}]).status_code == 401


def test_items_are_processed_like_standalone_requests(client, mac):
    readonly = client.graph_token("readonly")
    t = client.server.tenant
    oid = t.entra_by_device_id(mac.device_ids[0]).id
    r = _batch(
        client,
        readonly,
        [
            {"id": "get", "method": "GET", "url": f"/devices?$filter=deviceId eq '{mac.device_ids[0]}'&$select=id"},
            {"id": "del", "method": "DELETE", "url": f"/devices/{oid}"},
            {"id": "missing", "method": "GET", "url": "/devices/00000000-0000-0000-0000-000000000000"},
            {"id": "managed", "method": "GET", "url": f"/deviceManagement/managedDevices?$filter=serialNumber eq '{mac.serial}'"},
            {"id": "nested", "method": "POST", "url": "/$batch", "body": {"requests": []}},
        ],
    )
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert by_id["get"]["status"] == 200 and by_id["get"]["body"]["value"] == [{"id": oid}]
    assert by_id["del"]["status"] == 403
    assert by_id["del"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert by_id["missing"]["status"] == 404
    assert by_id["managed"]["body"]["value"][0]["serialNumber"] == mac.serial
    assert by_id["nested"]["status"] == 400
    assert oid in t.entra


def test_per_item_429_with_retry_after(client):
    ids = _entra_ids(client, 10)
    token = client.graph_token()
    faults = client.server.faults
    faults.seed, faults.rate_429, faults.retry_after = 11, 0.5, 3
    # the outer request may itself draw a 429: retry until the batch is accepted
    for _ in range(20):
        r = _batch(client, token, [{"id": str(i), "method": "DELETE", "url": f"/devices/{oid}"} for i, oid in enumerate(ids)])
        if r.status_code == 200:
            break
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    responses = r.json()["responses"]
    throttled = [x for x in responses if x["status"] == 429]
    done = [x for x in responses if x["status"] == 204]
    assert throttled and done and len(throttled) + len(done) == 10
    assert all(x["headers"]["Retry-After"] == "3" for x in throttled)
    for x in throttled:
        assert ids[int(x["id"])] in client.server.tenant.entra
    for x in done:
        assert ids[int(x["id"])] not in client.server.tenant.entra


def test_depends_on(client):
    [a] = _entra_ids(client, 1)
    token = client.graph_token()
    r = _batch(
        client,
        token,
        [
            {"id": "2", "method": "GET", "url": f"/devices/{a}", "dependsOn": ["1"]},
            {"id": "1", "method": "DELETE", "url": "/devices/00000000-0000-0000-0000-000000000000"},
            {"id": "3", "method": "DELETE", "url": f"/devices/{a}"},
            {"id": "4", "method": "GET", "url": f"/devices/{a}", "dependsOn": ["3"]},
        ],
    )
    by_id = {x["id"]: x["status"] for x in r.json()["responses"]}
    assert by_id == {"1": 404, "2": 424, "3": 204, "4": 404}
    assert _batch(client, token, [{"id": "1", "method": "GET", "url": "/devices", "dependsOn": ["9"]}]).status_code == 400
    assert (
        _batch(
            client,
            token,
            [{"id": "1", "method": "GET", "url": "/devices", "dependsOn": ["2"]}, {"id": "2", "method": "GET", "url": "/devices", "dependsOn": ["1"]}],
        ).status_code
        == 400
    )
