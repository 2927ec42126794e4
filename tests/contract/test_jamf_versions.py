"""The Jamf Pro client against an old and a current emulated server: it asks the version once, then uses that
server's routes (v1, v3 or v4 inventory; v1 or v4 Remove MDM Profile; Classic or v3 groups) and never one the server
deprecated or removed; records read the same whatever the version; an unknown version gets the oldest routes."""

from __future__ import annotations

import threading

import pytest

from cleanup.clients import jamf_groups as G
from cleanup.clients import records as R
from cleanup.errors import JamfError
from cleanup.lab.tenant.clientfiles import lab_cloud_opener
from cleanup.lab.tenant.records import iso
from cleanup.lab.tenant.scenarios import seed_escrowed_secrets
from cleanup.lab.tenant.wire import Response, json_response
from tests.support.jamf_versions import CURRENT, EXPECTED_API, LATER, OLD, V3, VERSIONS, at_jamf_version, jamf_routes_used, unserved_or_deprecated


@pytest.fixture
def open_cloud():
    clouds = []

    def make(lab):
        cloud = lab_cloud_opener(lab.client)()
        clouds.append(cloud)
        return cloud

    yield make
    for cloud in clouds:
        cloud.close()


@pytest.fixture(params=VERSIONS)
def server_of(request, make_lab, open_cloud):
    """A tenant whose Mac has two Jamf Pro records (the newer one escrowed secrets), served as one version."""
    lab = make_lab("two-jamf-records")
    at_jamf_version(lab.server, request.param)
    entries = seed_escrowed_secrets(lab.tenant, lab.serial, recovery_lock=True)
    return request.param, lab, open_cloud(lab), entries


def test_the_version_is_asked_once_and_picks_the_routes(server_of):
    text, lab, cloud, _ = server_of
    jamf = cloud.jamf
    assert jamf.version() == tuple(int(p) for p in text.split("."))
    assert jamf.routes.api == EXPECTED_API[text]
    for _ in range(3):
        jamf.computers_by_serial(lab.serial)
        jamf.version()
    assert jamf_routes_used(lab.server)["GET /api/v1/jamf-pro-version"] == 1


def test_search_read_escrow_and_delete_use_only_routes_the_server_serves_undeprecated(server_of):
    text, lab, cloud, entries = server_of
    jamf = cloud.jamf
    records = jamf.computers_by_serial(lab.serial)
    assert sorted(r["id"] for r in records) == sorted(c.id for c in lab.tenant.jamf_by_serial(lab.serial))
    newest = max(records, key=lambda r: int(r["id"]))
    cid = newest["id"]
    # the summary reads the same on every version: last contact included, whatever the field is called there
    summary = R.jamf_summary(jamf.computer(cid))
    assert summary["last_contact"] == iso(lab.tenant.jamf[cid].last_contact, True) and summary["serial"] == lab.serial
    assert summary == R.jamf_summary(newest)
    assert G.full_record(jamf, cid)["hardware"]["serialNumber"] == lab.serial
    assert jamf.escrow_sections(cid)["diskEncryption"]["individualRecoveryKeyValidityStatus"] == "VALID"
    assert jamf.filevault(cid)["personalRecoveryKey"] == entries[cid].filevault_key
    assert jamf.recovery_lock_password(cid) == entries[cid].recovery_lock
    assert jamf.can_read_inventory()
    assert jamf.delete_computer(cid) is True and jamf.delete_computer(cid) is False
    assert jamf.computer(cid) is None
    used = jamf_routes_used(lab.server)
    api = EXPECTED_API[text]
    inventory = [r for r in used if "computers-inventory" in r]
    assert inventory and all(f"/api/{api}/computers-inventory" in r for r in inventory), used
    assert unserved_or_deprecated(lab.server) == {} and lab.server.stats()["not_served"] == {}


def test_remove_mdm_profile_goes_to_the_versions_route(server_of):
    text, lab, cloud, _ = server_of
    cid = lab.tenant.jamf_by_serial(lab.serial)[-1].id
    uuid = cloud.jamf.remove_mdm_profile(cid)
    [command] = lab.tenant.mdm_commands
    assert uuid == command["commandUuid"] and command["deviceId"] == cid
    route = (
        "POST /api/v4/computers-inventory/{cid}/remove-mdm-profile"
        if EXPECTED_API[text] == "v4"
        else "POST /api/v1/computer-inventory/{cid}/remove-mdm-profile"
    )
    assert jamf_routes_used(lab.server)[route] == 1
    assert unserved_or_deprecated(lab.server) == {}


def test_groups_smart_through_the_jamf_pro_api_where_offered_static_always_classic(server_of):
    text, lab, cloud, _ = server_of
    jamf = cloud.jamf
    t = lab.tenant
    smart = sorted((int(c.id), c.name, c.serial) for c in t.jamf.values() if "1" in c.groups)
    static = sorted((int(c.id), c.name, c.serial) for c in t.jamf.values() if "4" in c.groups)
    got_smart = jamf.group_members("All Managed Clients")
    assert sorted((m["id"], m["name"], m["serial_number"]) for m in got_smart) == smart
    got_static = jamf.group_members("Design Team Macs")
    assert sorted((int(m["id"]), m["name"], m["serial_number"]) for m in got_static) == static
    with pytest.raises(JamfError) as info:
        jamf.group_members("No Such Group")
    assert info.value.status == 404
    # a static group's members read and one added, through the Classic API on every version
    new = t.add_jamf_computer("C02VERSION01", "NEW-ONE")
    assert G.static_group(jamf, "4")["members"] == [str(i) for i, _, _ in static]
    G.add_to_static_group(jamf, "4", new.id)
    assert new.id in G.static_group(jamf, "4")["members"] and "4" in t.jamf[new.id].groups
    used = jamf_routes_used(lab.server)
    if text in (OLD,):
        assert "GET /JSSResource/computergroups/name/{name}" in used and "GET /api/v3/computer-groups/smart-group-membership/{gid}" not in used
    else:
        assert used["GET /api/v3/computer-groups/smart-group-membership/{gid}"] == 1
        assert "GET /JSSResource/computergroups/name/{name}" not in used  # by id, after the group list
    assert unserved_or_deprecated(lab.server) == {}


@pytest.mark.parametrize("text", [V3, CURRENT])
def test_two_groups_of_the_same_name_are_refused_on_the_jamf_pro_api(make_lab, open_cloud, text):
    from cleanup.errors import Ambiguous

    lab = make_lab("clean")
    at_jamf_version(lab.server, text)
    lab.tenant.groups["9"] = {"id": "9", "name": "All Managed Clients", "smartGroup": False}
    with pytest.raises(Ambiguous, match="2 computer groups named 'All Managed Clients'"):
        open_cloud(lab).jamf.group_members("All Managed Clients")


def test_a_v4_remove_mdm_profile_answer_without_a_command_id_counts_as_sent(make_lab, open_cloud):
    lab = make_lab("clean")
    at_jamf_version(lab.server, LATER)
    lab.server.service.v4_remove_mdm_answer = "empty"
    cid = lab.tenant.jamf_by_serial(lab.serial)[-1].id
    assert open_cloud(lab).jamf.remove_mdm_profile(cid) is None
    assert [c["deviceId"] for c in lab.tenant.mdm_commands] == [cid]


def _answering(lab, status: int, body: bytes | None = None, json_body: object = None):
    """Make the emulator answer GET /api/v1/jamf-pro-version with this (everything else as usual)."""
    service = lab.server.service
    handle = service.handle

    def patched(req):
        if req.path == "/api/v1/jamf-pro-version":
            service.by_route["GET /api/v1/jamf-pro-version"] += 1
            if json_body is not None:
                return json_response(status, json_body)
            return Response(status, body or b"", {"Content-Type": "text/html"})
        return handle(req)

    service.handle = patched


@pytest.mark.parametrize(
    ("status", "body", "json_body"),
    [(404, b"", None), (200, b"<html>Jamf Pro</html>", None), (200, None, {"version": "banana"}), (200, None, {"jamfProVersion": "11.30.0"})],
)
def test_a_server_that_does_not_say_its_version_gets_the_oldest_routes(make_lab, open_cloud, status, body, json_body):
    lab = make_lab("clean")
    _answering(lab, status, body, json_body)
    jamf = open_cloud(lab).jamf
    assert jamf.version() is None and jamf.routes.api == "v1"
    assert [r["hardware"]["serialNumber"] for r in jamf.computers_by_serial(lab.serial)] == [lab.serial]
    jamf.version()
    used = jamf_routes_used(lab.server)
    assert used["GET /api/v1/jamf-pro-version"] == 1 and used["GET /api/v1/computers-inventory"] == 1


def test_a_failing_version_read_is_an_error_and_is_asked_again(make_lab, open_cloud):
    lab = make_lab("clean")
    _answering(lab, 403, json_body={"httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE", "field": None, "description": "Forbidden", "id": "0"}]})
    jamf = open_cloud(lab).jamf
    with pytest.raises(JamfError, match="GET /api/v1/jamf-pro-version: 403"):
        jamf.computers_by_serial(lab.serial)
    with pytest.raises(JamfError):
        jamf.version()
    assert jamf_routes_used(lab.server)["GET /api/v1/jamf-pro-version"] == 2 and "GET /api/v1/computers-inventory" not in jamf_routes_used(lab.server)


def test_threads_sharing_a_client_ask_the_version_once(make_lab, open_cloud):
    lab = make_lab("clean")
    at_jamf_version(lab.server, CURRENT)
    lab.server.faults.latency_ms = 50  # the first answer takes a while: the others wait for it
    jamf = open_cloud(lab).jamf
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(jamf.routes.api)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == ["v4"] * 8 and jamf_routes_used(lab.server)["GET /api/v1/jamf-pro-version"] == 1


def test_bad_input_is_refused_before_any_request_the_version_read_included(make_lab, open_cloud):
    from cleanup.errors import UsageError

    lab = make_lab("clean")
    jamf = open_cloud(lab).jamf
    lab.server.reset_stats()
    for call in (
        lambda: jamf.computers_by_serial("C02*"),
        lambda: jamf.computer("1 or 1"),
        lambda: jamf.delete_computer("../2"),
        lambda: jamf.remove_mdm_profile("-1"),
        lambda: jamf.escrow_sections("x"),
        lambda: jamf.filevault("1/2"),
        lambda: jamf.recovery_lock_password(""),
        lambda: G.full_record(jamf, "7?"),
        lambda: jamf.group_members(" "),
    ):
        with pytest.raises(UsageError):
            call()
    assert lab.server.stats()["total"] == 0
