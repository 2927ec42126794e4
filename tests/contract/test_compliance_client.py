"""cleanup.clients.compliance against the emulator's 2026 routes over real TLS: Intune's compliance partners
(Graph, DeviceManagementServiceConfig.Read.All or higher) and Jamf Pro's device-compliance information of one
computer (Read Computers assumed), in both shapes of complianceVendorDeviceInformation."""

from __future__ import annotations

import pytest

from cleanup.clients.compliance import DC_INFO, PARTNERS, compliance_partners, device_compliance, jamf_partner
from cleanup.errors import GraphError, JamfError
from tests.support.tenant2026 import MAC_IDS, tenants_2026


@pytest.fixture
def tenant_2026(tmp_path):
    yield from tenants_2026(tmp_path)


def _mac_record(lab):
    [record] = lab.tenant.jamf_by_serial(lab.mac.serial)
    return record


def test_the_partner_list_has_graphs_shape_and_names_the_jamf_partner(tenant_2026):
    lab = tenant_2026("device-compliance")
    cloud = lab.cloud(graph="readonly")
    partners = compliance_partners(cloud.graph)
    [partner] = partners
    assert set(partner) == {
        "@odata.type",
        "id",
        "lastHeartbeatDateTime",
        "partnerState",
        "displayName",
        "macOsOnboarded",
        "androidOnboarded",
        "iosOnboarded",
        "macOsEnrollmentAssignments",
        "androidEnrollmentAssignments",
        "iosEnrollmentAssignments",
    }
    assert partner["@odata.type"] == "#microsoft.graph.complianceManagementPartner"
    assert partner["partnerState"] == "enabled" and partner["macOsOnboarded"] is True and partner["displayName"] == "Jamf Device Compliance"
    [assignment] = partner["macOsEnrollmentAssignments"]
    assert assignment["@odata.type"] == "microsoft.graph.complianceManagementPartnerAssignment"
    assert assignment["target"]["@odata.type"] == "#microsoft.graph.groupAssignmentTarget"
    assert jamf_partner(partners) == partner
    # the legacy partner is gone in this tenant
    assert not any("jamf" in p["displayName"].lower() for p in cloud.graph.partners())


def test_a_legacy_tenant_has_no_compliance_partner(tenant_2026):
    lab = tenant_2026("clean")
    cloud = lab.cloud()
    assert compliance_partners(cloud.graph) == [] and jamf_partner([]) is None
    assert cloud.graph.partners()[0]["partnerState"] == "enabled"  # the legacy one, as before


def test_legacy_leftovers_terminate_the_legacy_partner(tenant_2026):
    cloud = tenant_2026("legacy-leftovers").cloud()
    [legacy] = cloud.graph.partners()
    assert legacy["partnerState"] == "terminated"
    assert jamf_partner(compliance_partners(cloud.graph))["partnerState"] == "enabled"


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (["DeviceManagementServiceConfig.Read.All"], True),
        (["DeviceManagementServiceConfig.ReadWrite.All"], True),
        (["DeviceManagementConfiguration.Read.All"], True),
        (["DeviceManagementConfiguration.ReadWrite.All"], True),
        (["Device.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All", "Directory.Read.All"], False),
    ],
)
def test_the_partner_list_needs_a_service_config_permission(tenant_2026, roles, allowed):
    lab = tenant_2026("device-compliance")
    lab.grant("partial", graph_roles=roles)
    graph = lab.cloud(graph="partial").graph
    if allowed:
        assert len(compliance_partners(graph)) == 1
        return
    with pytest.raises(GraphError) as caught:
        compliance_partners(graph)
    assert caught.value.status == 403 and caught.value.code == "Authorization_RequestDenied"
    assert f"Graph GET /v1.0{PARTNERS}: 403 Authorization_RequestDenied: Insufficient privileges" in caught.value.message


@pytest.mark.parametrize("shape", ["array", "object"])
def test_device_compliance_of_the_mac_in_both_shapes(tenant_2026, shape):
    lab = tenant_2026("device-compliance")
    lab.server.faults.dc_info_shape = shape
    cloud = lab.cloud(jamf="readonly")
    record = _mac_record(lab)
    raw = cloud.jamf.request("GET", DC_INFO.format(id=record.id)).json()
    assert raw[0]["deviceId"] == record.id and set(raw[0]) == {
        "deviceId",
        "applicable",
        "complianceState",
        "complianceVendor",
        "complianceVendorDeviceInformation",
    }
    info = raw[0]["complianceVendorDeviceInformation"]
    assert isinstance(info, list if shape == "array" else dict)
    assert device_compliance(cloud.jamf, record.id) == [{"applicable": True, "state": "COMPLIANT", "vendor": "Microsoft Intune", "device_ids": [MAC_IDS[0]]}]


def test_a_computer_without_information_is_empty_and_a_gone_one_none(tenant_2026):
    lab = tenant_2026("clean")
    jamf = lab.cloud().jamf
    assert device_compliance(jamf, _mac_record(lab).id) == []
    assert device_compliance(jamf, "999999") is None


def test_platform_sso_information_points_at_the_psso_device(tenant_2026):
    lab = tenant_2026("platform-sso")
    cloud = lab.cloud()
    [entry] = device_compliance(cloud.jamf, _mac_record(lab).id)
    [psso] = cloud.graph.devices_by_device_id(entry["device_ids"][0])
    assert psso["trustType"] == "AzureAd" and psso["operatingSystem"] == "macOS" and psso["operatingSystemVersion"] == "15.7.0"


def test_device_compliance_needs_read_computers(tenant_2026):
    lab = tenant_2026("device-compliance")
    lab.grant("groups-only", jamf_privileges=["Read Smart Computer Groups"])
    jamf = lab.cloud(jamf="groups-only").jamf
    with pytest.raises(JamfError) as caught:
        device_compliance(jamf, _mac_record(lab).id)
    assert caught.value.status == 403 and caught.value.code == "INVALID_PRIVILEGE"
