"""Parser for ``profiles status -type enrollment``."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EnrollmentStatus:
    dep: bool  # "Enrolled via DEP: Yes"
    enrolled: bool  # "MDM enrollment: Yes ..."
    user_approved: bool  # "MDM enrollment: Yes (User Approved)"
    server: str | None  # "MDM server: ..." (absent when not enrolled)


_LINE = re.compile(r"^\s*(?P<key>[^:]+?)\s*:\s*(?P<value>.*?)\s*$")


def _yes_no(key: str, value: str) -> bool:
    word = value.split("(", 1)[0].strip().lower()
    if word == "yes":
        return True
    if word == "no":
        return False
    raise ValueError(f"profiles: unexpected value for {key!r}: {value!r}")


def parse_enrollment_status(text: str) -> EnrollmentStatus:
    """Facts from ``profiles status -type enrollment``. ValueError when the DEP or enrollment line is missing
    or not Yes/No."""
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        m = _LINE.match(line)
        if m and m.group("key").lower() not in fields:
            fields[m.group("key").lower()] = m.group("value")
    if "enrolled via dep" not in fields or "mdm enrollment" not in fields:
        raise ValueError("profiles: not the output of `profiles status -type enrollment`")
    dep = _yes_no("Enrolled via DEP", fields["enrolled via dep"])
    mdm = fields["mdm enrollment"]
    enrolled = _yes_no("MDM enrollment", mdm)
    user_approved = enrolled and "user approved" in mdm.lower()
    server = fields.get("mdm server") or None
    return EnrollmentStatus(dep=dep, enrolled=enrolled, user_approved=user_approved, server=server)
