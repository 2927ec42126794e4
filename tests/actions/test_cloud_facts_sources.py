"""Step 0's deviceId sources in the 2026 models: the Mac's Platform SSO and getPSSOStatus deviceIds after its
certificates', and the ids Jamf's device-compliance information names after every other source."""

from __future__ import annotations

from cleanup.actions.cloud_facts import _device_id_sources

CERT, PSSO, MSAL, INTUNE, JAMF, DC = (f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-000000000000" for n in "123456")


def test_sources_in_order_with_where_each_was_read():
    device = {"psso_device_ids": [PSSO.upper()], "msal_device_ids": {"alice": MSAL, "bob": "not-a-guid"}}
    intune = [{"id": "i1", "operatingSystem": "macOS", "azureADDeviceId": INTUNE}]
    jamf = [{"id": "4", "aad_device_ids": [JAMF], "device_compliance": [{"applicable": True, "device_ids": [DC, JAMF]}]}]
    sources = _device_id_sources(device, [CERT], intune, jamf)
    assert list(sources) == [CERT, PSSO, MSAL, INTUNE, JAMF, DC]
    assert sources[PSSO] == "deviceId on the Mac's Platform SSO registration (app-sso)"
    assert sources[MSAL] == "deviceId on the Mac's getPSSOStatus for alice"
    assert sources[DC] == "deviceId in Jamf Pro's device-compliance information of computer 4"
    assert sources[JAMF].startswith("deviceId Jamf Pro reports")  # the earlier source names it


def test_without_the_macs_evidence_or_compliance_information_the_sources_are_as_before():
    jamf = [{"id": "4", "aad_device_ids": [JAMF], "device_compliance": "not read (HTTP 403)"}]
    assert list(_device_id_sources(None, [], [], jamf)) == [JAMF]
