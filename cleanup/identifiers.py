"""Validation and quoting of identifiers that end up inside service queries (pure, no I/O).

Anything a user typed or a service returned passes through here before it is put into an RSQL filter
(Jamf), an OData literal (Graph) or a URL path. Validation is strict on purpose: a serial with a
wildcard or an RSQL operator in it could widen a query, and the widened result could then be deleted.
"""

from __future__ import annotations

import re
import uuid

from cleanup.errors import UsageError

SERIAL_RE = re.compile(r"^[A-Z0-9]{8,14}$")
_OBJECT_ID_RE = re.compile(r"^[0-9]{1,18}$")


def valid_serial(text: str) -> str:
    """An Apple serial number exactly as given (8-14 upper-case letters and digits), else UsageError."""
    # fullmatch, not match: "$" would accept a trailing newline.
    if not isinstance(text, str) or not SERIAL_RE.fullmatch(text):
        raise UsageError(f"{text!r} is not an Apple serial number (8-14 upper-case letters and digits)")
    return text


def valid_guid(text: str) -> str:
    """A GUID in canonical lower-case 8-4-4-4-12 form (braces and upper case accepted), else UsageError."""
    candidate = text.strip() if isinstance(text, str) else ""
    if candidate.startswith("{") and candidate.endswith("}"):
        candidate = candidate[1:-1]
    if not re.fullmatch(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", candidate):
        raise UsageError(f"{text!r} is not a GUID (like 6f1c2a4e-0b3d-4c5e-9f70-1a2b3c4d5e6f)")
    return str(uuid.UUID(candidate))


def guid_or_none(text: object) -> str | None:
    """:func:`valid_guid` of ``text`` when it is one, else None (for values read from a Mac or a service)."""
    try:
        return valid_guid(text) if isinstance(text, str) else None
    except UsageError:
        return None


def valid_object_id(text: str | int) -> str:
    """A Jamf Pro object id (digits only) as a string, else UsageError."""
    value = str(text) if isinstance(text, int) and not isinstance(text, bool) and text >= 0 else text
    if not isinstance(value, str) or not _OBJECT_ID_RE.fullmatch(value):
        raise UsageError(f"{text!r} is not a Jamf Pro object id (digits only)")
    return value


def odata_literal(text: str) -> str:
    """An OData string literal: single quotes around the text, inner single quotes doubled."""
    if not isinstance(text, str):
        raise UsageError(f"{text!r} is not text")
    return "'" + text.replace("'", "''") + "'"


def rsql_value(serial: str) -> str:
    """A validated serial as a quoted RSQL value (validation keeps '*', '"', ';' and ',' out)."""
    return '"' + valid_serial(serial) + '"'
