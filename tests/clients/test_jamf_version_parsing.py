"""Reading a Jamf Pro version leniently, the routes each version gets, and the last contact of a record whatever
the inventory API version named it."""

from __future__ import annotations

import pytest

from cleanup.clients.jamf_version import parse_version, routes_for
from cleanup.clients.records import jamf_summary


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("11.30.0-t1752480000", (11, 30, 0)),
        ("10.49.0", (10, 49, 0)),
        (" 11.5", (11, 5, 0)),
        ("11.29.1-t1", (11, 29, 1)),
        ("v11.32.0", (11, 32, 0)),
        ("banana", None),
        ("", None),
        (None, None),
        (11.3, None),
        ("11", None),
    ],
)
def test_versions_are_read_leniently(text, version):
    assert parse_version(text) == version


@pytest.mark.parametrize(
    ("version", "api", "remove_mdm", "smart"),
    [
        (None, "v1", "/api/v1/computer-inventory/{id}/remove-mdm-profile", None),
        ((10, 49, 0), "v1", "/api/v1/computer-inventory/{id}/remove-mdm-profile", None),
        ((11, 22, 9), "v1", "/api/v1/computer-inventory/{id}/remove-mdm-profile", None),
        ((11, 23, 0), "v3", "/api/v1/computer-inventory/{id}/remove-mdm-profile", None),
        ((11, 28, 0), "v3", "/api/v1/computer-inventory/{id}/remove-mdm-profile", "/api/v3/computer-groups/smart-group-membership/{id}"),
        ((11, 30, 0), "v4", "/api/v4/computers-inventory/{id}/remove-mdm-profile", "/api/v3/computer-groups/smart-group-membership/{id}"),
        ((12, 0, 0), "v4", "/api/v4/computers-inventory/{id}/remove-mdm-profile", "/api/v3/computer-groups/smart-group-membership/{id}"),
    ],
)
def test_each_version_gets_its_routes(version, api, remove_mdm, smart):
    routes = routes_for(version)
    assert routes.api == api and routes.remove_mdm == remove_mdm and routes.smart_group_membership == smart
    base = f"/api/{api}/computers-inventory"
    assert routes.inventory == base and routes.detail == base + "-detail/{id}"
    assert routes.filevault == base + "/{id}/filevault" and routes.recovery_lock == base + "/{id}/view-recovery-lock-password"


V1 = {"id": "7", "general": {"name": "MBP", "lastContactTime": "2026-11-01T10:00:00.000Z"}, "hardware": {"serialNumber": "C02ABC123DEF"}}


@pytest.mark.parametrize(
    ("general", "expected"),
    [
        ({"lastContactTime": "2026-11-01T10:00:00.000Z"}, "2026-11-01T10:00:00.000Z"),  # v1, v3
        ({"lastContact": "2026-11-02T10:00:00.000Z", "lastCheckIn": "2026-11-01T10:00:00.000Z"}, "2026-11-02T10:00:00.000Z"),  # v4
        ({"lastContact": None, "lastCheckIn": "2026-11-01T10:00:00.000Z"}, "2026-11-01T10:00:00.000Z"),  # v4, lastContact null
        ({"lastContact": None, "lastCheckIn": None}, None),
        ({}, None),
    ],
)
def test_the_last_contact_is_read_from_v1_and_v4_names(general, expected):
    record = {**V1, "general": {"name": "MBP", **general}}
    summary = jamf_summary(record)
    assert summary["last_contact"] == expected
    assert {k: v for k, v in summary.items() if k != "last_contact"} == {k: v for k, v in jamf_summary(V1).items() if k != "last_contact"}
