"""The configured CA bundle wins over REQUESTS_CA_BUNDLE (for our HTTP client and for MSAL), and the
permission check names what is missing, probing by an actual read when Jamf roles cannot be read."""

from __future__ import annotations

import pytest

from cleanup.clients import permissions
from cleanup.clients.permissions import (
    DRY_RUN_NEEDS,
    OPTIONAL_NEEDS,
    RUN_NEEDS,
    Missing,
    check,
)
from cleanup.errors import CleanupError, UsageError
from cleanup.lab.tenant.tls import make_test_ca


@pytest.fixture
def foreign_ca_env(tmp_path, monkeypatch):
    """REQUESTS_CA_BUNDLE pointing at a CA that did NOT sign the lab's certificate."""
    other = make_test_ca(tmp_path / "other-ca")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other.ca_pem))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other.ca_pem))
    return other.ca_pem


def test_ca_bundle_honoured_despite_environment(make_cloud, lab, foreign_ca_env):
    cloud = make_cloud()
    assert cloud.jamf.computers_by_serial(lab.tenant.mac.serial)
    assert cloud.graph.devices_by_name(lab.tenant.mac.name)  # MSAL discovery + token + Graph


def test_without_the_ca_bundle_tls_fails(make_cloud, lab, foreign_ca_env):
    cloud = make_cloud(ca=None)
    with pytest.raises(CleanupError) as jamf_err:
        cloud.jamf.computers_by_serial(lab.tenant.mac.serial)
    assert "SSLError" in str(jamf_err.value) and "TLS" in jamf_err.value.hint
    with pytest.raises(CleanupError) as graph_err:
        cloud.graph.roles()
    assert str(graph_err.value) == f"cannot reach the Entra authority {lab.url}/{lab.credentials['tenant_id']}: TLS verification failed"


def test_full_credentials_suffice_for_everything(make_cloud):
    assert check(make_cloud(), RUN_NEEDS + OPTIONAL_NEEDS) == []
    assert check(make_cloud(jamf_user="admin"), RUN_NEEDS) == []


def test_readonly_credentials_suffice_for_a_dry_run_only(make_cloud):
    cloud = make_cloud(jamf="readonly", graph="readonly")
    assert check(cloud, DRY_RUN_NEEDS) == []
    missing = check(cloud, RUN_NEEDS)
    assert {(m.service, m.permission_name, m.known) for m in missing} == {
        ("jamf", "Delete Computers", True),
        ("graph", "Device.ReadWrite.All", True),
        ("graph", "DeviceManagementManagedDevices.ReadWrite.All", True),
    }
    assert str(next(m for m in missing if m.service == "jamf")) == "missing Jamf Pro privilege Delete Computers"


def test_graph_app_with_only_device_read(make_cloud, lab):
    lab.tenant.add_graph_app("device-only", ["Device.Read.All"])
    missing = check(make_cloud(graph="device-only"), permissions.needs_for("graph", DRY_RUN_NEEDS))
    assert missing == [Missing("graph:read-managed", "DeviceManagementManagedDevices.Read.All", "graph", True)]


def test_directory_roles_count_for_devices(make_cloud, lab):
    lab.tenant.add_graph_app("directory", ["Directory.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All"])
    assert check(make_cloud(graph="directory"), permissions.needs_for("graph", RUN_NEEDS)) == []


def test_jamf_client_without_read_api_roles(make_cloud, lab):
    lab.tenant.add_api_role("81", "reads, no role reading", ["Read Computers", "Read Smart Computer Groups", "Read Static Computer Groups", "Delete Computers"])
    lab.tenant.add_jamf_client("no-role-read", ["81"])
    cloud = make_cloud(jamf="no-role-read")
    lab.reset_stats()
    assert check(cloud, permissions.needs_for("jamf", DRY_RUN_NEEDS)) == []
    assert lab.stats()["by_route"]["GET /api/v1/computers-inventory"] == 1  # checked by an actual read
    [unknown] = check(cloud, ["jamf:delete-computers"])
    assert not unknown.known
    assert str(unknown) == "cannot confirm Delete Computers: grant Read API Roles to check it beforehand"

    lab.tenant.add_api_role("82", "nothing useful", ["Read Static Computer Groups"])
    lab.tenant.add_jamf_client("cannot-read", ["82"])
    [missing] = check(make_cloud(jamf="cannot-read"), ["jamf:read-computers"])
    assert missing.known and missing.permission_name == "Read Computers"


def test_unknown_need_is_a_usage_error(make_cloud):
    with pytest.raises(UsageError, match="unknown permission need"):
        check(make_cloud(), ["jamf:launch-rockets"])
