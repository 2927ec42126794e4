"""Parsers for small system facts: boot time, sw_vers, ioreg platform, pkgutil, stat."""

from __future__ import annotations

import re

_BOOTTIME = re.compile(r"^\s*(?:kern\.boottime\s*[:=]\s*)?\{\s*sec\s*=\s*(?P<sec>\d+)\s*,\s*usec\s*=\s*(?P<usec>\d+)\s*\}")


def parse_boottime(text: str) -> int:
    """Boot time (epoch seconds) from ``sysctl -n kern.boottime`` or ``sysctl kern.boottime``."""
    m = _BOOTTIME.match(text or "")
    if not m:
        raise ValueError(f"not a kern.boottime value: {(text or '')[:80]!r}")
    return int(m.group("sec"))


def parse_sw_vers(text: str) -> dict[str, str]:
    """``sw_vers`` -> {"ProductName": "macOS", "ProductVersion": "14.5", "BuildVersion": "23F79", ...}.
    Keys as printed. ValueError when no ``Key: value`` line is present."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            continue
        out[key.strip()] = value.strip()
    if not out:
        raise ValueError("not sw_vers output")
    return out


# A value runs to the last quote of its line, or on to a later line when the text holds a newline: a serial
# such as "" or "C02X\nK1" is returned as it is, for the caller to refuse, instead of looking absent.
_IOREG = re.compile(r'^[ \t|]*"(?P<key>[^"\n]+)"[ \t]*=[ \t]*"(?P<value>.*?)"[ \t]*$', re.M | re.S)


def parse_ioreg_platform(text: str) -> dict[str, str]:
    """``ioreg -rd1 -c IOPlatformExpertDevice`` -> {"serial": ..., "uuid": ...}, each value exactly as printed
    (even empty or odd: the caller validates it); ValueError when either key is missing."""
    found: dict[str, str] = {}
    for m in _IOREG.finditer(text or ""):
        found.setdefault(m.group("key"), m.group("value"))
    serial = found.get("IOPlatformSerialNumber")
    uuid = found.get("IOPlatformUUID")
    if serial is None or uuid is None:
        raise ValueError("ioreg output has no IOPlatformSerialNumber / IOPlatformUUID")
    return {"serial": serial, "uuid": uuid}


def parse_pkgutil_pkgs(text: str) -> list[str]:
    """``pkgutil --pkgs`` -> package ids, in the order printed; blank lines skipped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_stat_uid(text: str) -> int:
    """``stat -f %u /dev/console`` -> the uid; ValueError unless the output is one decimal number."""
    t = (text or "").strip()
    if not re.fullmatch(r"\d+", t):
        raise ValueError(f"not a uid: {t[:40]!r}")
    return int(t)
