"""The emulated Jamf Pro of a chosen version: it says its version, serves the routes that version has (deprecated
ones too, with nothing added), answers the others like any unknown endpoint, and names the last contact as that
API version does. The route table, the registered routes and docs/jamf-versions.md agree."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from cleanup.lab.tenant import jamf_versions
from cleanup.lab.tenant.jamf_versions import TABLE, VersionError, parse, state
from cleanup.lab.tenant.service import ROUTES
from tests.support.jamf_versions import at_jamf_version
from tests.support.lab import REPO, run_cli


def _client(make_tenant, text: str):
    import requests

    server = make_tenant("clean")
    at_jamf_version(server, text)
    session = requests.Session()
    creds = server.credentials["jamf_clients"]["full"]
    token = session.post(
        server.url + "/api/oauth/token",
        data={"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": creds["client_secret"]},
        verify=str(server.ca_pem),
        timeout=10,
    ).json()["access_token"]

    def get(path, method="GET", **kw):
        return session.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}, verify=str(server.ca_pem), timeout=10, **kw)

    return server, get


def test_it_says_its_version_to_any_token(make_tenant):
    server, get = _client(make_tenant, "11.30.0")
    r = get("/api/v1/jamf-pro-version")
    assert r.status_code == 200 and r.json() == {"version": "11.30.0-" + jamf_versions.BUILD}
    import requests

    assert requests.get(server.url + "/api/v1/jamf-pro-version", verify=str(server.ca_pem), timeout=10).status_code == 401
    assert make_tenant("clean").jamf_version == jamf_versions.DEFAULT_VERSION


def test_routes_of_later_versions_answer_like_unknown_endpoints(make_tenant):
    server, get = _client(make_tenant, "10.49.0")
    unknown = get("/api/v9/no-such-thing")
    cid = server.tenant.jamf_by_serial(server.tenant.mac.serial)[0].id
    for path in ("/api/v4/computers-inventory", f"/api/v3/computers-inventory/{cid}", "/api/v3/computer-groups/smart-group-membership/1"):
        r = get(path)
        assert (r.status_code, r.json(), r.headers["Content-Type"]) == (404, unknown.json(), unknown.headers["Content-Type"]), path
    assert get(f"/api/v4/computers-inventory/{cid}/remove-mdm-profile", method="POST").status_code == 404
    assert server.tenant.mdm_commands == []
    assert get("/api/v1/computers-inventory").status_code == 200
    assert server.stats()["not_served"] == {
        "GET /api/v4/computers-inventory": 1,
        "GET /api/v3/computers-inventory/{cid}": 1,
        "GET /api/v3/computer-groups/smart-group-membership/{gid}": 1,
        "POST /api/v4/computers-inventory/{cid}/remove-mdm-profile": 1,
    }


def test_deprecated_routes_still_work_and_removed_ones_are_gone(make_tenant):
    server, get = _client(make_tenant, "11.30.0")
    r = get("/api/v1/computers-inventory")  # deprecated since 11.18 [I]: still served, nothing added
    assert r.status_code == 200 and not {"deprecation", "sunset"} & {h.lower() for h in r.headers}
    assert get("/api/v3/computers-inventory").status_code == 200  # deprecated by 11.30 itself
    cid = server.tenant.jamf_by_serial(server.tenant.mac.serial)[0].id
    server.jamf_version = parse("11.32.0")
    unknown = get("/api/v9/no-such-thing").json()
    for path in ("/api/v1/computers-inventory", f"/api/v1/computers-inventory-detail/{cid}", f"/JSSResource/computers/serialnumber/{server.tenant.mac.serial}"):
        r = get(path)
        assert r.status_code == 404 and r.json() == unknown, path
    assert get(f"/api/v1/computers-inventory/{cid}", method="DELETE").status_code == 404 and cid in server.tenant.jamf
    assert get("/api/v4/computers-inventory").status_code == 200


def test_v4_names_the_last_contact_its_way_and_refuses_the_old_name(make_tenant):
    server, get = _client(make_tenant, "11.30.0")
    rec = server.tenant.jamf_by_serial(server.tenant.mac.serial)[0]
    when = get("/api/v1/computers-inventory", params={"section": "GENERAL"}).json()["results"][0]["general"]["lastContactTime"]
    for path in ("/api/v4/computers-inventory", f"/api/v4/computers-inventory/{rec.id}", f"/api/v4/computers-inventory-detail/{rec.id}"):
        body = get(path, params={"section": "GENERAL"}).json()
        general = (body["results"][0] if "results" in body else body)["general"]
        assert "lastContactTime" not in general and general["lastContact"] == general["lastCheckIn"] == when, path
    assert get(f"/api/v3/computers-inventory/{rec.id}").json()["general"]["lastContactTime"] == when
    for params in ({"sort": "general.lastContactTime:desc"}, {"filter": 'general.lastContactTime=lt="2030-01-01T00:00:00Z"'}):
        r = get("/api/v4/computers-inventory", params=params)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "INVALID_FIELD", params
    assert get("/api/v4/computers-inventory", params={"sort": "general.lastContact:desc"}).status_code == 200
    assert get("/api/v4/computers-inventory", params={"filter": 'general.lastCheckIn=lt="2030-01-01T00:00:00Z"'}).json()["totalCount"] >= 1
    r = get("/api/v1/computers-inventory", params={"sort": "general.lastContact:desc"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "INVALID_SORT_CRITERIA"


def test_smart_group_membership_lists_member_ids(make_tenant):
    server, get = _client(make_tenant, "11.28.0")
    t = server.tenant
    body = get("/api/v3/computer-groups/smart-group-membership/1").json()
    assert body == {"members": sorted(int(c.id) for c in t.jamf.values() if "1" in c.groups)} and body["members"]
    assert get("/api/v3/computer-groups/smart-group-membership/4").status_code == 404  # a static group
    t.api_roles["1"]["privileges"].remove("Read Smart Computer Groups")
    assert get("/api/v3/computer-groups/smart-group-membership/1").status_code == 403


def test_the_table_names_registered_routes_and_every_versioned_route_is_in_it():
    registered = {r.name for r in ROUTES.routes}
    assert {life.route for life in TABLE} <= registered
    versioned = {n for n in registered if re.search(r" /api/v[34]/", n)}
    assert versioned <= {life.route for life in TABLE}
    for life in TABLE:
        assert life.source and (life.introduced or jamf_versions.MIN_VERSION) < (life.removed or (99, 0, 0))
        if life.deprecated and life.removed:
            assert life.deprecated < life.removed


def test_the_docs_show_the_same_table():
    text = (REPO / "docs" / "jamf-versions.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:4]

    def shown(v):
        return jamf_versions.text_of(v) if v else "—"

    for life in TABLE:
        assert life.route in rows, life.route
        got = [re.sub(r"\s*\[I\]|\*", "", c).strip() for c in rows[life.route]]
        assert got == [shown(life.introduced), shown(life.deprecated), shown(life.removed)], life.route
    assert f"default {jamf_versions.text_of(jamf_versions.DEFAULT_VERSION)}" in text.replace("**", "")


@pytest.mark.parametrize(
    ("text", "why"),
    [("banana", "is not a Jamf Pro version"), ("11", "is not a Jamf Pro version"), ("10.48.0", "older than the oldest version the lab emulates")],
)
def test_a_bad_version_is_refused_in_one_line(tmp_path, text, why):
    with pytest.raises(VersionError, match=why):
        parse(text)
    r = run_cli("lab", "tenant", "start", tmp_path / "t", "--jamf-version", text, state_dir=tmp_path / "state")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and why in r.stderr and "--jamf-version" in r.stderr
    r = run_cli("lab", "demo", "--jamf-version", text, state_dir=tmp_path / "state")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and why in r.stderr
    assert not (tmp_path / "t").exists()


def test_parse_and_states():
    assert parse(" 11.30 ") == (11, 30, 0) and parse("11.30.1") == (11, 30, 1)
    assert state("GET /api/v1/computers-inventory", (11, 22, 0)) == "deprecated"
    assert state("GET /api/v1/computers-inventory", (11, 17, 9)) == "served"
    assert state("GET /api/v1/computers-inventory", (11, 31, 0)) == "removed"
    assert state("GET /api/v4/computers-inventory", (11, 29, 9)) == "not-yet"
    assert state("GET /api/v1/conditional-access/device-compliance-information/computer/{cid}", (10, 49, 0)) == "served"  # not in the table


def test_tenant_start_serves_the_chosen_version(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cleanup", "lab", "tenant", "start", str(tmp_path), "--jamf-version", "11.30.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Jamf Pro 11.30.0" in out, out
        import requests

        url = out.split("tenant listening on ", 1)[1].split()[0]
        r = requests.get(url + "/api/v1/jamf-pro-version", verify=str(tmp_path / "tls" / "ca.pem"), timeout=10)
        assert r.status_code == 401  # the route exists; it wants a token like every Jamf Pro API route here
    finally:
        proc.terminate()
        proc.wait(timeout=10)
