"""cleanup.clients.compliance without a network: Jamf's device-compliance answer in both shapes of
complianceVendorDeviceInformation and with odd values, and the choice of the Jamf compliance partner."""

from __future__ import annotations

import pytest

from cleanup.clients.compliance import jamf_partner, parse_device_compliance, vendor_device_ids
from cleanup.errors import JamfError

A = "6F1C2A4E-0B3D-4C5E-9F70-1A2B3C4D5E6F"
B = "0dde70e6-f430-449f-8bce-f4d0a9eca2a4"


def _entry(info, **over):
    raw = {"deviceId": "1", "applicable": True, "complianceState": "COMPLIANT", "complianceVendor": "Vendor A", "complianceVendorDeviceInformation": info}
    raw.update(over)
    return raw


def test_the_reference_example_array_shape():
    assert parse_device_compliance([_entry([{"deviceIds": [A]}])]) == [
        {"applicable": True, "state": "COMPLIANT", "vendor": "Vendor A", "device_ids": [A.lower()]}
    ]


def test_the_schema_object_shape():
    assert parse_device_compliance([_entry({"deviceIds": [A, B]})])[0]["device_ids"] == [A.lower(), B]


def test_several_objects_in_the_array_are_merged_without_repeats():
    assert vendor_device_ids([{"deviceIds": [A]}, {"deviceIds": [B, A.lower()]}]) == [A.lower(), B]


@pytest.mark.parametrize(
    "info", [None, [], {}, {"deviceIds": None}, {"deviceIds": "not-a-list"}, [None, "x"], {"deviceIds": ["", "12", None, 5, "{not-a-guid}"]}, "text"]
)
def test_odd_vendor_information_gives_no_ids(info):
    assert vendor_device_ids(info) == []


def test_non_guid_ids_are_dropped_and_braced_ones_kept():
    assert vendor_device_ids({"deviceIds": ["12", "{" + A + "}", B.upper()]}) == [A.lower(), B]


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("UNKNOWN", "UNKNOWN"),
        ("NON_COMPLIANT", "NON_COMPLIANT"),
        ("compliant", "COMPLIANT"),
        ("IN_GRACE_PERIOD", "IN_GRACE_PERIOD"),
        (None, "UNKNOWN"),
        ("", "UNKNOWN"),
        (3, "UNKNOWN"),
    ],
)
def test_states_kept_as_sent_and_missing_ones_unknown(raw, state):
    assert parse_device_compliance([_entry(None, complianceState=raw)])[0]["state"] == state


@pytest.mark.parametrize(("raw", "applicable"), [(True, True), (False, False), ("true", False), (1, False), (None, False)])
def test_applicable_only_when_true(raw, applicable):
    assert parse_device_compliance([_entry(None, applicable=raw)])[0]["applicable"] is applicable


def test_missing_vendor_is_none():
    assert parse_device_compliance([_entry(None, complianceVendor="")])[0]["vendor"] is None
    assert parse_device_compliance([{"applicable": True}]) == [{"applicable": True, "state": "UNKNOWN", "vendor": None, "device_ids": []}]


def test_empty_list_and_lone_object():
    assert parse_device_compliance([]) == []
    assert parse_device_compliance(_entry({"deviceIds": [B]}))[0]["device_ids"] == [B]
    assert parse_device_compliance([None, "x", _entry(None)])[0]["vendor"] == "Vendor A"


@pytest.mark.parametrize("body", ["text", 3, None])
def test_an_answer_that_is_no_list_is_an_error(body):
    with pytest.raises(JamfError, match="expected a list of device-compliance entries"):
        parse_device_compliance(body)


def _partner(name="Jamf Device Compliance", state="enabled", mac=True, beat="2026-11-20T08:00:00Z", pid="p"):
    return {"id": pid, "displayName": name, "partnerState": state, "macOsOnboarded": mac, "lastHeartbeatDateTime": beat}


def test_jamf_partner_needs_macos_onboarding_and_a_jamf_name():
    assert jamf_partner([]) is None
    assert jamf_partner([_partner(mac=False), _partner(name="Other Vendor"), _partner(name=None), "junk"]) is None  # type: ignore[list-item]
    assert jamf_partner([_partner(name="Other Vendor"), _partner(pid="j")])["id"] == "j"


def test_jamf_partner_prefers_an_enabled_one_then_the_newest_heartbeat():
    older = _partner(pid="old", beat="2026-01-01T00:00:00Z")
    newer = _partner(pid="new", beat="2026-11-20T08:00:00Z")
    gone = _partner(pid="gone", state="terminated", beat="2026-12-01T00:00:00Z")
    assert jamf_partner([gone, older, newer])["id"] == "new"
    assert jamf_partner([gone])["id"] == "gone"  # a terminated partner is still reported (the caller reads its state)
