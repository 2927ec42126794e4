"""JamfClient against the emulated Jamf Pro: validation before requests, exact matching, paging, deletes,
tokens (refresh under concurrency, 401 mid-run, user tokens), retries, the 5-connection limit, privileges."""

from __future__ import annotations

import secrets
import threading
import time

import pytest
import requests

from cleanup.clients.jamf import INVENTORY
from cleanup.errors import AuthError, JamfError, UsageError
from tests.support.clienthelpers import fresh_serial


@pytest.mark.parametrize("bad", ["C02*", 'C02" or "1"=="1', "A;B", "A,B", "c02zk1abmd6m", "C02ZK1ABMD6M*"])
def test_serial_injection_refused_before_any_request(make_cloud, lab, bad):
    jamf = make_cloud().jamf
    with pytest.raises(UsageError, match="is not an Apple serial number"):
        jamf.computers_by_serial(bad)
    assert lab.stats()["total"] == 0  # not even a token request


def test_only_exact_serial_matches_are_returned(make_cloud, lab):
    serial = fresh_serial()
    mine = lab.tenant.add_jamf_computer(serial, "MINE")
    lab.tenant.add_jamf_computer(serial.lower(), "LOWER-CASE TWIN")  # the server's filter ignores case
    lab.tenant.add_jamf_computer(serial[:-1] + ("7" if serial[-1] != "7" else "8"), "LOOK-ALIKE")
    jamf = make_cloud().jamf
    raw = jamf.request("GET", INVENTORY, [("filter", f'hardware.serialNumber=="{serial}"')]).json()
    assert raw["totalCount"] == 2  # the server really returned the twin ...
    found = jamf.computers_by_serial(serial)
    assert [r["id"] for r in found] == [mine.id]  # ... and our side check dropped it
    record = found[0]
    assert record["hardware"]["serialNumber"] == serial
    for section in ("general", "hardware", "userAndLocation", "groupMemberships", "localUserAccounts"):
        assert record.get(section) is not None, section


def test_scenario_mac_and_its_look_alike(make_cloud, lab):
    mac = lab.tenant.mac
    jamf = make_cloud().jamf
    found = jamf.computers_by_serial(mac.serial)
    assert len(found) == 1 and found[0]["general"]["name"] == mac.name
    look_alike = mac.serial[:-1] + ("7" if mac.serial[-1] != "7" else "8")
    assert [r["hardware"]["serialNumber"] for r in jamf.computers_by_serial(look_alike)] == [look_alike]


def test_paging_collects_every_page(make_cloud, lab):
    serial = fresh_serial()
    ids = [lab.tenant.add_jamf_computer(serial, f"DUP-{n}").id for n in range(7)]
    jamf = make_cloud().jamf
    jamf.page_size = 3
    lab.reset_stats()
    found = jamf.computers_by_serial(serial)
    assert sorted(r["id"] for r in found) == sorted(ids)
    assert lab.stats()["by_route"][f"GET {INVENTORY}"] == 3


def test_read_delete_and_already_gone(make_cloud, lab):
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "TO-DELETE")
    jamf = make_cloud().jamf
    assert jamf.computer(rec.id)["general"]["name"] == "TO-DELETE"
    assert jamf.delete_computer(rec.id) is True
    assert jamf.delete_computer(rec.id) is False  # 404: already gone
    assert jamf.computer(rec.id) is None
    assert jamf.computer("987654321") is None
    with pytest.raises(UsageError):
        jamf.delete_computer("1 OR 1")


def test_remove_mdm_profile_records_the_command(make_cloud, lab):
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "UNMANAGE-ME")
    uuid = make_cloud().jamf.remove_mdm_profile(rec.id)
    assert any(c.get("commandUuid") == uuid and str(c.get("computer_id", c.get("deviceId"))) == rec.id for c in lab.tenant.mdm_commands), (
        lab.tenant.mdm_commands
    )


def test_readonly_client_cannot_delete(make_cloud, lab):
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "KEEP-ME")
    with pytest.raises(JamfError) as info:
        make_cloud(jamf="readonly").jamf.delete_computer(rec.id)
    assert info.value.status == 403
    assert str(info.value).startswith(f"Jamf Pro DELETE {INVENTORY}/{rec.id}: 403 ")
    assert lab.tenant.jamf.get(rec.id) is not None


def test_groups(make_cloud, lab):
    jamf = make_cloud().jamf
    names = {g["name"] for g in jamf.computer_groups()}
    assert "All Managed Clients" in names
    members = jamf.group_members("All Managed Clients")
    assert lab.tenant.mac.serial in {m["serial_number"] for m in members}
    with pytest.raises(JamfError) as info:
        jamf.group_members("No Such Group/../x")
    assert info.value.status == 404


def test_privileges_for_clients_and_users(make_cloud, lab):
    full = make_cloud().jamf.privileges()
    assert {"Read Computers", "Delete Computers", "Send Computer Unmanage Command"} <= full
    readonly = make_cloud(jamf="readonly").jamf.privileges()
    assert "Read Computers" in readonly and "Delete Computers" not in readonly
    admin = make_cloud(jamf_user="admin").jamf.privileges()
    assert "Delete Computers" in admin
    lab.tenant.add_api_role("77", "no role reading", ["Read Computers", "Delete Computers"])
    lab.tenant.add_jamf_client("blind", ["77"])
    assert make_cloud(jamf="blind").jamf.privileges() is None  # cannot read its own role


def test_wrong_client_secret_is_one_line_without_the_secret(make_cloud, lab):
    wrong = "Wr0ng-" + secrets.token_urlsafe(12)
    cloud = make_cloud(jamf_secret=wrong)
    with pytest.raises(AuthError) as info:
        cloud.jamf.computers_by_serial(lab.tenant.mac.serial)
    client_id = lab.credentials["jamf_clients"]["full"]["client_id"]
    assert str(info.value) == f"Jamf Pro rejected the API client credentials (HTTP 401) for client {client_id} at {lab.url}"
    assert wrong not in str(info.value) + (info.value.hint or "")


def test_wrong_user_password(make_cloud, lab):
    with pytest.raises(AuthError, match=r"rejected the user credentials \(HTTP 401\) for user lab-admin"):
        make_cloud(jamf_user="admin", jamf_secret="nope").jamf.privileges()


def test_token_refresh_under_concurrency(make_cloud, lab):
    lab.faults.jamf_token_lifetime = 1  # renewed 0.25 s before expiry
    lab.faults.latency_ms = 15
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "SHARED")
    jamf = make_cloud().jamf
    errors: list[BaseException] = []

    def worker():
        try:
            deadline = time.monotonic() + 1.6
            while time.monotonic() < deadline:
                assert jamf.computer(rec.id)["id"] == rec.id
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    stats = lab.stats()
    assert stats["by_route"][f"GET {INVENTORY}/{{cid}}"] > 50
    assert 2 <= stats["by_route"]["POST /api/oauth/token"] <= 5, stats["by_route"]  # ~one per 0.75 s, not per thread


def test_401_mid_run_refreshes_once(make_cloud, lab):
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "EXPIRED-TOKEN")
    jamf = make_cloud().jamf
    assert jamf.computer(rec.id) is not None
    lab.service.tokens.revoke_jamf(jamf.provider.token())  # the server forgets the token
    lab.reset_stats()
    assert jamf.computer(rec.id)["id"] == rec.id
    routes = lab.stats()["by_route"]
    assert routes["POST /api/oauth/token"] == 1
    assert sum(n for r, n in routes.items() if r.startswith(f"GET {INVENTORY}/")) == 2  # 401, then the retry


def test_throttling_and_server_errors_are_retried(make_cloud, lab):
    lab.faults.update({"rate_429": 0.3, "rate_5xx": 0.2, "retry_after": 0, "seed": 7})
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "FLAKY")
    jamf = make_cloud().jamf
    for _ in range(12):
        assert jamf.computer(rec.id)["id"] == rec.id
    routes = lab.stats()["by_route"]
    assert sum(n for r, n in routes.items() if r.startswith(f"GET {INVENTORY}/")) > 12  # some were retried


def test_at_most_five_concurrent_requests(make_cloud, lab):
    rec = lab.tenant.add_jamf_computer(fresh_serial(), "SLOW")
    jamf = make_cloud().jamf
    jamf.provider.token()
    lab.faults.latency_ms = 150
    threads = [threading.Thread(target=jamf.computer, args=(rec.id,)) for _ in range(20)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert elapsed >= 4 * 0.15 * 0.9, elapsed  # 20 requests, 5 at a time: at least 4 rounds
    assert elapsed < 20 * 0.15, elapsed  # but they did run in parallel


def test_user_token_keep_alive_and_invalidate(make_cloud, lab):
    lab.faults.jamf_user_token_lifetime = 2  # renewed 0.5 s before expiry, through keep-alive
    jamf = make_cloud(jamf_user="admin").jamf
    first = jamf.provider.token()
    time.sleep(1.6)
    second = jamf.provider.token()
    assert second != first
    assert lab.stats()["by_route"].get("POST /api/v1/auth/keep-alive") == 1
    jamf.close()
    assert lab.stats()["by_route"].get("POST /api/v1/auth/invalidate-token") == 1
    answer = requests.get(f"{lab.url}/api/v1/auth", headers={"Authorization": f"Bearer {second}"}, verify=str(lab.ca_pem), timeout=5)
    assert answer.status_code == 401  # the token is dead on the server
