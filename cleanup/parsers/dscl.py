"""Parsers for ``dscl`` output."""

from __future__ import annotations

import re

_UID_LINE = re.compile(r"^(?P<name>.*?\S)\s+(?P<uid>-?\d+)\s*$")


def parse_uid_list(text: str) -> list[tuple[str, int]]:
    """``dscl . -list /Users UniqueID`` -> [(name, uid)]. Names are kept raw (validated elsewhere); blank lines
    skipped; ValueError on any other line that is not ``name <whitespace> uid``."""
    out: list[tuple[str, int]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        m = _UID_LINE.match(line.strip())
        if not m:
            raise ValueError(f"dscl: unparsable line: {line[:80]!r}")
        out.append((m.group("name"), int(m.group("uid"))))
    return out


def parse_read_value(text: str, key: str) -> str | None:
    """The value of ``key`` from ``dscl . -read /Users/x KEY``; None when absent or empty.

    Handles ``Key: value`` and the multi-line form ``Key:`` followed by `` value`` lines (used by dscl when
    a value contains a space). With several values, the first is returned.
    """
    lines = (text or "").splitlines()
    prefix = key + ":"
    for i, line in enumerate(lines):
        if not line.startswith(prefix):
            continue
        rest = line[len(prefix) :]
        if rest.strip():
            return rest[1:].rstrip() if rest.startswith(" ") else rest.rstrip()
        for cont in lines[i + 1 :]:
            if not cont.startswith(" "):
                break
            value = cont[1:].rstrip()
            if value:
                return value
        return None
    return None


def parse_attribute_list(text: str) -> dict[str, str]:
    """``dscl . -list /Users NFSHomeDirectory`` -> {name: value}; the value is the rest of the line (paths may hold
    spaces); ValueError on a line with no value."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"dscl: unparsable line: {line[:80]!r}")
        out[parts[0]] = parts[1].strip()
    return out
