"""GraphClient against the emulated Entra/Graph/Intune, with the real MSAL: lookups with our-side checks,
paging, deletes, $batch with per-item throttling, error messages, certificate auth, token refresh."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cleanup.errors import AuthError, CleanupError, GraphError, UsageError
from cleanup.lab.tenant.model import GRAPH_DIAGNOSE_ROLES
from cleanup.lab.tenant.tls import make_test_ca
from tests.support.clienthelpers import fresh_serial


def test_device_by_device_id_checks_validity_first(make_cloud, lab):
    graph = make_cloud().graph
    with pytest.raises(UsageError):
        graph.devices_by_device_id("abc' or displayName eq 'x")
    assert lab.stats()["total"] == 0
    device_id = str(uuid.uuid4())
    dev = lab.tenant.add_entra_device("DEV-BY-ID", device_id)
    found = graph.devices_by_device_id(device_id.upper())
    assert [d["id"] for d in found] == [dev.id]
    assert graph.devices_by_device_id(str(uuid.uuid4())) == []


def test_display_name_with_quotes_and_case(make_cloud, lab):
    name = f"O'Brien's MacBook {uuid.uuid4().hex[:6]}"
    exact = lab.tenant.add_entra_device(name)
    other_case = lab.tenant.add_entra_device(name.lower())
    lab.tenant.add_entra_device(name + " Pro")
    found = make_cloud().graph.devices_by_name(name)
    assert sorted(d["id"] for d in found) == sorted([exact.id, other_case.id])  # Entra's case-insensitive match
    assert [d["id"] for d in found if d["displayName"] == name] == [exact.id]  # the caller can tell them apart


def test_scenario_look_alike_names(make_cloud, lab):
    mac = lab.tenant.mac
    names = [d["displayName"] for d in make_cloud().graph.devices_by_name(mac.name)]
    assert names == [mac.name]  # not MBP-ALICE-2 nor mbp-alice-old


def test_paging_follows_next_links(make_cloud, lab):
    name = f"PAGED-{uuid.uuid4().hex[:8]}"
    ids = {lab.tenant.add_entra_device(name).id for _ in range(12)}
    graph = make_cloud().graph
    graph.page_size = 5
    lab.reset_stats()
    assert {d["id"] for d in graph.devices_by_name(name)} == ids
    assert lab.stats()["by_route"]["GET /v1.0/devices"] == 3


def test_managed_devices_exact_serial_even_when_filter_is_ignored(make_cloud, lab):
    serial = fresh_serial("GT")
    mine = lab.tenant.add_intune_device(serial, "MINE", str(uuid.uuid4()))
    lab.tenant.add_intune_device(serial.lower(), "LOWER-CASE TWIN", "")
    lab.tenant.add_intune_device(serial[:-1] + ("7" if serial[-1] != "7" else "8"), "LOOK-ALIKE", "")
    graph = make_cloud().graph
    assert [d["id"] for d in graph.managed_devices_by_serial(serial)] == [mine.id]
    lab.faults.ignore_managed_filter = True
    graph.page_size = 7
    lab.reset_stats()
    assert [d["id"] for d in graph.managed_devices_by_serial(serial)] == [mine.id]
    pages = lab.stats()["by_route"]["GET /v1.0/deviceManagement/managedDevices"]
    assert pages >= len(lab.tenant.intune) // 7  # it really paged through everything
    with pytest.raises(UsageError):
        graph.managed_devices_by_serial("C02*")


def test_get_and_delete_return_already_gone(make_cloud, lab):
    dev = lab.tenant.add_entra_device("DELETE-ME")
    managed = lab.tenant.add_intune_device(fresh_serial("GT"), "DELETE-ME", dev.device_id)
    graph = make_cloud().graph
    assert graph.device(dev.id)["deviceId"] == dev.device_id
    assert graph.delete_device(dev.id) is True
    assert graph.delete_device(dev.id) is False
    assert graph.device(dev.id) is None
    assert graph.managed_device(managed.id)["serialNumber"] == managed.serial
    assert graph.delete_managed_device(managed.id) is True
    assert graph.delete_managed_device(managed.id) is False
    assert graph.managed_device(managed.id) is None


def test_graph_error_message_keeps_status_and_code(make_cloud, lab):
    dev = lab.tenant.add_entra_device("PROTECTED")
    with pytest.raises(GraphError) as info:
        make_cloud(graph="readonly").graph.delete_device(dev.id)
    err = info.value
    assert err.status == 403 and err.code == "Authorization_RequestDenied"
    assert str(err).startswith(
        f"Graph DELETE /v1.0/devices/{dev.id}: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (request-id "
    )
    assert "\n" not in str(err)


def test_roles_from_the_token(make_cloud):
    diagnose = set(GRAPH_DIAGNOSE_ROLES)  # the lab apps may also read what `cleanup diagnose` checks
    assert make_cloud().graph.roles() == {"Device.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All"} | diagnose
    assert make_cloud(graph="readonly").graph.roles() == {"Device.Read.All", "DeviceManagementManagedDevices.Read.All"} | diagnose


def test_certificate_auth(make_cloud, lab):
    graph = make_cloud(graph="cert").graph
    assert "Device.ReadWrite.All" in graph.roles()
    assert graph.devices_by_name(lab.tenant.mac.name)
    assert graph.provider.token_source in ("identity_provider", "cache")


def test_wrong_secret_is_one_line_without_the_secret(make_cloud):
    wrong = "Wr0ng-" + uuid.uuid4().hex
    with pytest.raises(AuthError) as info:
        make_cloud(graph_secret=wrong).graph.roles()
    assert str(info.value) == "Entra rejected the app credentials: AADSTS7000215: Invalid client secret provided."
    assert wrong not in str(info.value) + (info.value.hint or "")


def test_unknown_tenant_is_one_clear_line(make_cloud):
    with pytest.raises(CleanupError) as info:
        make_cloud(tenant_id=str(uuid.uuid4())).graph.roles()
    assert str(info.value).startswith("Entra tenant discovery failed for ")


def test_401_mid_run_gets_a_new_token(make_cloud, lab):
    graph = make_cloud().graph
    token = graph.provider.token()
    assert graph.devices_by_name(lab.tenant.mac.name)
    grant, _ = lab.service.tokens.check_graph(token)
    grant.expires = 0  # expired on the server while MSAL still caches it
    lab.reset_stats()
    assert graph.devices_by_name(lab.tenant.mac.name)
    assert graph.provider.token() != token
    routes = lab.stats()["by_route"]
    assert routes["POST /{tenant}/oauth2/v2.0/token"] == 1
    assert routes["GET /v1.0/devices"] == 2


def test_throttled_requests_are_retried(make_cloud, lab):
    lab.faults.update({"rate_429": 0.3, "rate_5xx": 0.2, "retry_after": 0, "seed": 11})
    graph = make_cloud().graph
    for _ in range(10):
        assert graph.devices_by_name(lab.tenant.mac.name)
    assert lab.stats()["by_route"]["GET /v1.0/devices"] > 10


def test_batch_delete_waits_for_per_item_throttling(make_cloud, lab):
    devices = [lab.tenant.add_intune_device(fresh_serial("GB"), f"BATCH-{n}", "") for n in range(6)]
    paths = [f"/deviceManagement/managedDevices/{d.id}" for d in devices]
    gone = f"/deviceManagement/managedDevices/{uuid.uuid4()}"
    graph = make_cloud().graph
    lab.faults.update({"intune_write_limit": 3, "intune_window": 1.0})
    lab.reset_stats()
    result = graph.batch_delete(paths + [gone])
    assert result == {**{p: "deleted" for p in paths}, gone: "already gone"}
    assert all(d.id not in lab.tenant.intune for d in devices)
    assert lab.stats()["by_route"]["POST /v1.0/$batch"] >= 2  # the throttled items went in a later batch


def test_batch_chunks_of_twenty_and_retries_throttled_and_failed_items(make_cloud, lab):
    devices = [lab.tenant.add_entra_device(f"CHUNK-{n}") for n in range(25)]
    graph = make_cloud().graph
    graph.batch_attempts = 20
    lab.faults.update({"rate_429": 0.25, "rate_5xx": 0.15, "retry_after": 0, "seed": 3})
    result = graph.batch_delete([f"/devices/{d.id}" for d in devices])
    assert set(result.values()) <= {"deleted", "already gone"} and "deleted" in result.values()
    assert all(d.id not in lab.tenant.entra for d in devices)
    assert lab.stats()["by_route"]["POST /v1.0/$batch"] >= 3  # 2 chunks + retries


def test_batch_errors_per_item(make_cloud, lab):
    dev = lab.tenant.add_entra_device("READONLY-BATCH")
    result = make_cloud(graph="readonly").graph.batch_delete([f"/devices/{dev.id}"])
    assert result[f"/devices/{dev.id}"].startswith("403 Authorization_RequestDenied: Insufficient privileges")
    with pytest.raises(UsageError):
        make_cloud().graph.batch_delete(["/devices/../users/x"])


# -- a Graph that links elsewhere (scripted server: discovery, token and one devices page) --------------


def test_next_link_to_another_host_is_refused(tmp_path):
    from cleanup.clients.config import CloudConfig
    from cleanup.clients.http import HttpSettings
    from cleanup.clients.secrets import Secrets
    from cleanup.clients.session import CloudSession

    ca = make_test_ca(tmp_path / "tls")
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _json(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            hits.append(self.path)
            base = f"https://127.0.0.1:{self.server.server_address[1]}"
            if "openid-configuration" in self.path:
                self._json(
                    {"token_endpoint": f"{base}/t/oauth2/v2.0/token", "issuer": f"{base}/t/v2.0", "authorization_endpoint": f"{base}/t/oauth2/v2.0/authorize"}
                )
            else:
                self._json({"value": [{"id": "1", "displayName": "X"}], "@odata.nextLink": "https://evil.example.net/v1.0/devices?$skiptoken=1"})

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._json({"token_type": "Bearer", "expires_in": 3600, "access_token": "a.e30.c"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ca.server_context().wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        cfg = CloudConfig(tenant_id="contoso.example.com", graph_client_id="app", authority_host=url, graph_endpoint=url, ca_bundle=str(ca.ca_pem))
        cloud = CloudSession(cfg, Secrets(env={"CLEANUP_GRAPH_CLIENT_SECRET": "s"}), HttpSettings(ca_bundle=str(ca.ca_pem), max_attempts=1))
        with pytest.raises(GraphError, match="next page link points to another host; refusing to follow it"):
            cloud.graph.devices_by_name("X")
        cloud.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not any("skiptoken" in h for h in hits)


# -- bulk lookups (a batch's plan) ------------------------------------------------------------------------


def test_managed_devices_by_serials_one_batch_exact_serials_and_long_answers(make_cloud, lab):
    a, b, c = fresh_serial("GS"), fresh_serial("GS"), fresh_serial("GS")
    mine = lab.tenant.add_intune_device(a, "MINE", str(uuid.uuid4()))
    lab.tenant.add_intune_device(a.lower(), "LOWER-CASE TWIN", "")
    lab.tenant.add_intune_device(a[:-1], "PREFIX", "")
    lab.tenant.add_intune_device(a + "Z", "LONGER", "")
    b1, b2 = (lab.tenant.add_intune_device(b, f"B-{n}", "") for n in range(2))
    want = {a: [mine.id], b: [b1.id, b2.id], c: []}
    graph = make_cloud().graph
    graph.provider.token()
    lab.reset_stats()
    got = graph.managed_devices_by_serials([a, b, c, a])
    assert {s: [d["id"] for d in found] for s, found in got.items()} == want
    routes = lab.stats()["by_route"]
    assert routes["POST /v1.0/$batch"] == 1 and lab.stats()["total"] == 1  # three lookups, one request
    assert {s: [d["id"] for d in found] for s, found in got.items()} == {
        s: [d["id"] for d in graph.managed_devices_by_serial(s)] for s in want
    }  # the single lookup's answer
    lab.faults.ignore_managed_filter = True  # every item answers with every device
    graph.page_size = 7  # ... in pages: each item is read again the long way
    lab.reset_stats()
    got = graph.managed_devices_by_serials([a, b, c])
    assert {s: [d["id"] for d in found] for s, found in got.items()} == want
    assert lab.stats()["by_route"]["GET /v1.0/deviceManagement/managedDevices"] >= 3 * (len(lab.tenant.intune) // 7)


def test_managed_devices_by_serials_checks_every_serial_first_and_raises_on_a_failed_item(make_cloud, lab):
    graph = make_cloud().graph
    with pytest.raises(UsageError):
        graph.managed_devices_by_serials([fresh_serial("GS"), "C02*", fresh_serial("GS")])
    assert lab.stats()["total"] == 0  # not even a token
    lab.tenant.add_graph_app("entra-only", ["Device.Read.All"])
    with pytest.raises(GraphError, match=r"serialNumber .* in \$batch: 403 Authorization_RequestDenied") as err:
        make_cloud(graph="entra-only").graph.managed_devices_by_serials([fresh_serial("GS"), fresh_serial("GS")])
    assert err.value.status == 403


def test_devices_by_device_ids_fifteen_per_filter_in_one_batch(make_cloud, lab):
    ids = [str(uuid.uuid4()) for _ in range(40)]
    devices = {i: lab.tenant.add_entra_device(f"BULK-{n}", i) for n, i in enumerate(ids[:38])}  # 2 unknown ids
    graph = make_cloud().graph
    graph.provider.token()
    lab.reset_stats()
    got = graph.devices_by_device_ids([i.upper() for i in ids] + [ids[0]])
    assert list(got) == ids
    assert {i: [d["id"] for d in found] for i, found in got.items()} == {i: [devices[i].id] if i in devices else [] for i in ids}
    stats = lab.stats()
    assert stats["total"] == 1 and stats["batch_items"] == 3  # 15 + 15 + 10 deviceIds, one POST
    lab.reset_stats()
    assert {i: [d["id"] for d in v] for i, v in graph.devices_by_device_ids(ids[:15]).items()} == {i: [devices[i].id] for i in ids[:15]}
    assert lab.stats()["by_route"] == {"GET /v1.0/devices": 1}
    # the directory's limit, which the emulator keeps: 15 clauses joined by 'or'
    with pytest.raises(GraphError, match=r"Too many child clauses .*: 16\. Max allowed: 15"):
        graph._get_all("/devices", [("$filter", " or ".join(f"deviceId eq '{i}'" for i in ids[:16]))])
