"""Identifier validation and quoting: what may reach an RSQL filter, an OData literal or a URL path."""

from __future__ import annotations

import pytest

from cleanup.errors import UsageError
from cleanup.identifiers import (
    odata_literal,
    rsql_value,
    valid_guid,
    valid_object_id,
    valid_serial,
)


@pytest.mark.parametrize("serial", ["C02ZK1ABMD6M", "ABCDEFGH", "A1B2C3D4E5F6G7"])
def test_valid_serials_pass_unchanged(serial):
    assert valid_serial(serial) == serial


@pytest.mark.parametrize(
    "bad",
    ["C02*", 'C02" or "1"=="1', "A;B", "A,B", "c02zk1abmd6m", "SHORT", "A" * 15, "C02ZK1ABMD6M\n", " C02ZK1ABMD6M", "C02ZK1ABMD6M*", "", None, "C02ZK1ÄBMD6M"],
)
def test_bad_serials_refused(bad):
    with pytest.raises(UsageError, match="is not an Apple serial number"):
        valid_serial(bad)


def test_serial_message_is_exact():
    with pytest.raises(UsageError) as info:
        valid_serial("C02*")
    assert str(info.value) == "'C02*' is not an Apple serial number (8-14 upper-case letters and digits)"


def test_guid_canonical_lower_case():
    assert valid_guid("{6F1C2A4E-0B3D-4C5E-9F70-1A2B3C4D5E6F}") == "6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6f"
    for bad in [
        "6f1c2a4e0b3d4c5e9f701a2b3c4d5e6f",
        "6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6",
        "x" * 36,
        "6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6f' or 1 eq 1",
        "../6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6f",
    ]:
        with pytest.raises(UsageError):
            valid_guid(bad)


def test_odata_literal_doubles_quotes():
    assert odata_literal("O'Brien's Mac") == "'O''Brien''s Mac'"
    assert odata_literal("plain") == "'plain'"


def test_rsql_value_validates_then_quotes():
    assert rsql_value("C02ZK1ABMD6M") == '"C02ZK1ABMD6M"'
    with pytest.raises(UsageError):
        rsql_value('C02"*')


def test_object_ids_digits_only():
    assert valid_object_id("42") == "42"
    assert valid_object_id(7) == "7"
    for bad in ["4 2", "-1", "1;2", "../1", "", "1e3", True, -3]:
        with pytest.raises(UsageError):
            valid_object_id(bad)
