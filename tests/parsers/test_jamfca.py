"""Jamf Conditional Access: getPSSOStatus in each plausible shape, version, gatherAADInfo, and the Jamf plists."""

import plistlib

import pytest

from cleanup.parsers.jamfca import (
    parse_gather_aad_info,
    parse_jamf_plist,
    parse_jamfaad_prefs,
    parse_psso_status,
    parse_version,
)
from tests.support.sso_shapes import DEVICE_ID, TENANT, psso_status_text, reference_pairs

REFERENCE = (
    "2\n"
    'extraDeviceInformation [AnyHashable("isSSOExtensionInFullMode"): No, AnyHashable("primary_registration_metadata_upn"): alice@contoso.com, '
    'AnyHashable("primary_registration_metadata_cloud_host"): login.microsoftonline.com, '
    'AnyHashable("primary_registration_metadata_device_id"): 34b1ba9a-3b2d-4c6c-ab4b-615f4b143eab, '
    'AnyHashable("primary_registration_metadata_tenant_id"): 0dde70e6-f430-449f-8bce-f4d0a9eca2a4]\n'
)


def _registered(s):
    assert s.status == 2 and s.status_name == "MSALPlatformSSOEnabledAndRegistered"
    assert s.device_id == DEVICE_ID and s.upn == "alice@contoso.com" and s.tenant_id == TENANT
    assert s.cloud_host == "login.microsoftonline.com" and s.full_mode is False and not s.timed_out


def test_reference_shape():
    s = parse_psso_status(REFERENCE)
    _registered(s)
    assert s.has_dictionary and s.notes == ()


@pytest.mark.parametrize(
    "text",
    [
        psso_status_text(quoted=True),
        psso_status_text(pairs=list(reversed(reference_pairs()))),  # a dictionary: any order
        REFERENCE.replace("\n", "\r\n"),
        "2\nextraDeviceInformation [" + ", ".join(f'"{k}": "{v}"' for k, v in reference_pairs()) + "]\n",  # no AnyHashable
        "2\nextraDeviceInformation [" + ", ".join(f"{k}: {v}" for k, v in reference_pairs()) + "]\n",  # nothing quoted
        "2\nextraDeviceInformation [" + ", ".join(f'AnyHashable("{k}"): Optional("{v}")' for k, v in reference_pairs()) + "]\n",
        "2 " + REFERENCE[2:].replace("\n", " ") + "\n",  # on one line
        psso_status_text(pairs=reference_pairs() + [("primary_registration_metadata_future_key", "x, y"), ("isNew", "1")]),
    ],
)
def test_plausible_shapes(text):
    _registered(parse_psso_status(text))


def test_status_without_dictionary():
    for n in ("0", "1"):
        s = parse_psso_status(n + "\n")
        assert s.status == int(n) and s.info == {} and not s.has_dictionary and s.device_id is None


def test_empty_dictionary():
    s = parse_psso_status("0\nextraDeviceInformation [:]\n")
    assert s.status == 0 and s.has_dictionary and s.info == {}


def test_timeout():
    s = parse_psso_status("Warning:Timedout\n")
    assert s.timed_out and s.status is None
    late = parse_psso_status("Warning:Timedout\n1\n")
    assert late.timed_out and late.status == 1


def test_odd_values_are_not_trusted():
    s = parse_psso_status(psso_status_text("7", pairs=[("primary_registration_metadata_device_id", "MBP-ALICE")]))
    assert s.status is None and s.device_id is None
    assert any("unknown status" in n for n in s.notes) and any("not a GUID" in n for n in s.notes)
    twice = parse_psso_status(psso_status_text(pairs=reference_pairs() + [("primary_registration_metadata_device_id", "6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6f")]))
    assert twice.device_id is None and any("more than once" in n for n in twice.notes)


def test_not_psso_status_output():
    with pytest.raises(ValueError):
        parse_psso_status("Usage: Jamf Conditional Access [-verbose] clean | gatherAADInfo | registerWithIntune | version\n")
    with pytest.raises(ValueError):
        parse_psso_status("")


def test_version():
    assert parse_version("version=11.24.0\n") == "11.24.0"
    assert parse_version("version = 11.10.1-t1722263839\n") == "11.10.1-t1722263839"
    assert parse_version("2.1.0\n") == "2.1.0"
    with pytest.raises(ValueError):
        parse_version("Usage: ...\n")


def test_gather_aad_info():
    ok = parse_gather_aad_info("Microsoft Entra ID acquired for macOS user alice\n")
    assert ok.acquired and ok.user == "alice"
    assert parse_gather_aad_info("some log line\nAzure AD ID acquired for user bob.\n").user == "bob"
    no = parse_gather_aad_info("Microsoft Entra ID not acquired for macOS user alice: this Mac is not registered\n")
    assert not no.acquired and no.user == "alice"
    other = parse_gather_aad_info("Error: the user cancelled the sign-in\n")
    assert not other.acquired and other.user is None and other.message == "Error: the user cancelled the sign-in"


@pytest.mark.parametrize("fmt", [plistlib.FMT_XML, plistlib.FMT_BINARY])
@pytest.mark.parametrize("flag", [True, 1, "1", "true"])
def test_jamf_plist_device_compliance(fmt, flag):
    data = plistlib.dumps(
        {
            "jss_url": "https://example.jamfcloud.com/",
            "microsoftCAEnabled": flag,
            "microsoftCANativeClientAppId": "b03c10a8-71c7-45f9-b44a-3335ab76e970",
            "microsoftCATenantDomainName": "contoso.onmicrosoft.com",
            "someOtherKey": [1],
        },
        fmt=fmt,
    )
    prefs = parse_jamf_plist(data)
    assert prefs.ca_enabled is True and prefs.client_is_registration_app and prefs.device_compliance
    assert prefs.tenant_domain == "contoso.onmicrosoft.com" and prefs.jss_url == "https://example.jamfcloud.com/"


def test_jamf_plist_other_values():
    gcc = parse_jamf_plist(plistlib.dumps({"microsoftCAEnabled": True, "microsoftCANativeClientAppId": "DCF07DF3-346F-4F0E-B803-C1F0EA0FB5AE"}))
    assert gcc.device_compliance
    off = parse_jamf_plist(plistlib.dumps({"microsoftCAEnabled": False, "microsoftCANativeClientAppId": "b03c10a8-71c7-45f9-b44a-3335ab76e970"}))
    assert off.ca_enabled is False and not off.device_compliance
    legacy = parse_jamf_plist(plistlib.dumps({"jss_url": "https://example.jamfcloud.com/"}))
    assert legacy.ca_enabled is None and legacy.native_client_app_id is None and not legacy.device_compliance
    odd = parse_jamf_plist(plistlib.dumps({"microsoftCAEnabled": "sometimes", "microsoftCANativeClientAppId": 7}))
    assert odd.ca_enabled is None and odd.native_client_app_id is None and len(odd.notes) == 2
    other_app = parse_jamf_plist(plistlib.dumps({"microsoftCAEnabled": True, "microsoftCANativeClientAppId": "6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6f"}))
    assert not other_app.device_compliance


def test_not_a_plist():
    for data in (b"", b"jss_url=https://x\n", plistlib.dumps([1, 2])):
        with pytest.raises(ValueError):
            parse_jamf_plist(data)


def test_jamfaad_prefs():
    prefs = parse_jamfaad_prefs(plistlib.dumps({"have_an_Azure_id": True, "last_aad_token_timestamp": 1749398730}, fmt=plistlib.FMT_BINARY))
    assert prefs.have_an_azure_id is True and prefs.last_token == 1749398730.0
    odd = parse_jamfaad_prefs(plistlib.dumps({"last_aad_token_timestamp": "yesterday"}))
    assert odd.have_an_azure_id is None and odd.last_token is None and odd.notes
