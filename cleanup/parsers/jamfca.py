"""Parsers for Jamf Conditional Access (the app once named jamfAAD) and the Jamf preferences Device Compliance uses.

- ``getPSSOStatus``: line 1 is MSAL's ``MSALPlatformSSOStatus`` (0, 1, 2), then a Swift-printed
  ``extraDeviceInformation [AnyHashable("key"): value, ...]`` dictionary. No raw capture exists: the shape is
  reconstructed from what field scripts strip, so keys and values are accepted quoted or bare, ``AnyHashable(...)`` or
  not, ``Optional(...)``-wrapped, in any order; the dictionary may be missing; ``Warning:Timedout`` may be printed.
- ``version``: ``version=<x>``.
- ``gatherAADInfo``: "Microsoft Entra ID acquired for macOS user <name>" on success (Microsoft's wording).
- ``/Library/Preferences/com.jamfsoftware.jamf.plist`` (``microsoftCAEnabled``, ``microsoftCANativeClientAppId``) and
  the user's ``com.jamf.management.jamfAAD.plist``: XML or binary plists.
Pure functions, no I/O.
"""

from __future__ import annotations

import plistlib
import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers.expat import ExpatError

PSSO_STATUS_NAMES = {0: "MSALPlatformSSONotEnabled", 1: "MSALPlatformSSOEnabledNotRegistered", 2: "MSALPlatformSSOEnabledAndRegistered"}
META = "primary_registration_metadata_"
#: appId of "User registration app for Device Compliance" (commercial, GCC High): the expected microsoftCANativeClientAppId
USER_REGISTRATION_APP_IDS = ("b03c10a8-71c7-45f9-b44a-3335ab76e970", "dcf07df3-346f-4f0e-b803-c1f0ea0fb5ae")

_TIMEOUT = re.compile(r"warning\s*:\s*timed\s*out", re.I)
_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_NEXT_KEY = {
    "anyhashable": re.compile(r",\s*(?=AnyHashable\()"),
    "quoted": re.compile(r',\s*(?="(?:[^"\\]|\\.)*"\s*:)'),
    "bare": re.compile(r",\s*(?=[A-Za-z_][\w.-]*\s*:\s)"),
}


@dataclass(frozen=True)
class PSSOStatus:
    """``getPSSOStatus``: ``status`` None when line 1 is not 0, 1 or 2 (a timeout, say)."""

    status: int | None
    info: dict[str, str | None]  # extraDeviceInformation, keys as printed
    timed_out: bool
    has_dictionary: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def status_name(self) -> str | None:
        return PSSO_STATUS_NAMES.get(self.status) if self.status is not None else None

    def meta(self, name: str) -> str | None:
        return self.info.get(META + name)

    @property
    def upn(self) -> str | None:
        return self.meta("upn")

    @property
    def tenant_id(self) -> str | None:
        return self.meta("tenant_id")

    @property
    def cloud_host(self) -> str | None:
        return self.meta("cloud_host")

    @property
    def thumbprint(self) -> str | None:
        return self.meta("certificate_thumbprint")

    @property
    def device_id(self) -> str | None:
        """The registration's Entra deviceId when it is one GUID, else None."""
        value = (self.meta("device_id") or "").strip()
        return value.lower() if _GUID.match(value) else None

    @property
    def full_mode(self) -> bool | None:
        value = (self.info.get("isSSOExtensionInFullMode") or "").strip().casefold()
        return True if value in ("yes", "true", "1") else False if value in ("no", "false", "0") else None


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The string starting at the quote ``text[i]``, escapes undone; and the index after its closing quote."""
    out = []
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\" and j + 1 < len(text):
            out.append({"n": "\n", "t": "\t"}.get(text[j + 1], text[j + 1]))
            j += 2
            continue
        if c == '"':
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise ValueError("unterminated string")


def _unwrap(text: str, prefix: str) -> str:
    t = text.strip()
    if t.startswith(prefix + "(") and t.endswith(")"):
        return t[len(prefix) + 1 : -1].strip()
    return t


def _scalar(text: str) -> str | None:
    t = _unwrap(text, "Optional")
    if t == "nil":
        return None
    if t.startswith('"'):
        value, end = _quoted(t, 0)
        if t[end:].strip():
            raise ValueError(f"text after a quoted value: {t[end:][:20]!r}")
        return value
    return t


def _dictionary(body: str, notes: list[str]) -> dict[str, str | None]:
    body = body.strip()
    if body in ("", ":"):
        return {}
    style = "anyhashable" if body.startswith("AnyHashable(") else "quoted" if body.startswith('"') else "bare"
    out: dict[str, str | None] = {}
    twice: set[str] = set()
    for entry in _NEXT_KEY[style].split(body):
        if style == "anyhashable":
            m = re.match(r"AnyHashable\((?P<key>\"(?:[^\"\\]|\\.)*\"|[^)]*)\)\s*:\s?(?P<value>.*)$", entry, re.S)
        else:
            m = re.match(r"(?P<key>\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][\w.-]*)\s*:\s?(?P<value>.*)$", entry, re.S)
        if not m:
            notes.append(f"getPSSOStatus: skipped an entry it cannot read ({entry[:40]!r})")
            continue
        try:
            key = _scalar(m.group("key")) or ""
            value = _scalar(m.group("value"))
        except ValueError as exc:
            notes.append(f"getPSSOStatus: skipped an entry it cannot read ({exc})")
            continue
        if key in out or key in twice:
            twice.add(key)
            out.pop(key, None)
            continue
        out[key] = value
    for key in sorted(twice):
        notes.append(f"getPSSOStatus: {key} appears more than once: ignored")
    return out


def parse_psso_status(text: str) -> PSSOStatus:
    """Facts from ``Jamf Conditional Access getPSSOStatus``. ValueError for text with no status line, no
    ``extraDeviceInformation`` and no timeout warning (a usage message, say)."""
    text = (text or "").replace("\r\n", "\n")
    notes: list[str] = []
    timed_out = bool(_TIMEOUT.search(text))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not _TIMEOUT.fullmatch(ln.strip())]
    status = None
    if lines and not lines[0].startswith(("extraDeviceInformation", "[")):
        first = lines[0].split()[0]
        if first in ("0", "1", "2"):
            status = int(first)
        elif first.lstrip("-").isdigit():
            notes.append(f"getPSSOStatus: unknown status {first[:10]!r}")
        else:
            notes.append(f"getPSSOStatus: line 1 is not a status ({lines[0][:40]!r})")
    at = text.find("extraDeviceInformation")
    start = text.find("[", at) if at >= 0 else (text.find("[AnyHashable(") if "[AnyHashable(" in text else -1)
    info: dict[str, str | None] = {}
    has_dictionary = False
    if start >= 0:
        end = text.rfind("]")
        if end <= start:
            notes.append("getPSSOStatus: the extraDeviceInformation dictionary is not closed")
        else:
            has_dictionary = True
            info = _dictionary(text[start + 1 : end], notes)
    elif at >= 0:
        notes.append("getPSSOStatus: extraDeviceInformation without a dictionary")
    if status is None and not has_dictionary and not timed_out:
        raise ValueError("getPSSOStatus: not the output of `Jamf Conditional Access getPSSOStatus`")
    raw_id = info.get(META + "device_id")
    if raw_id and not _GUID.match(raw_id.strip()):
        notes.append(f"getPSSOStatus: device_id {raw_id[:40]!r} is not a GUID")
    return PSSOStatus(status, info, timed_out, has_dictionary, tuple(notes))


def parse_version(text: str) -> str:
    """``version=<x>`` (a bare version line is accepted too); ValueError otherwise."""
    m = re.search(r"^\s*version\s*=\s*(?P<v>\S+)\s*$", text or "", re.M)
    if m:
        return m.group("v")
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if len(lines) == 1 and re.fullmatch(r"\d+(\.\d+)+\S*", lines[0]):
        return lines[0]
    raise ValueError("Jamf Conditional Access: not the output of `version`")


@dataclass(frozen=True)
class AADInfo:
    """``gatherAADInfo``: ``acquired`` only for the success line; ``user`` as printed in it."""

    acquired: bool
    user: str | None
    message: str


_ACQUIRED = re.compile(
    r"(?:Microsoft\s+Entra\s+ID|Azure\s+AD\s+ID|AAD\s+ID|Azure\s+ID)\s+(?P<not>not\s+)?acquired\s+for\s+(?:macOS\s+)?user\s+(?P<user>\S+)", re.I
)


def parse_gather_aad_info(text: str) -> AADInfo:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for line in lines:
        m = _ACQUIRED.search(line)
        if m:
            return AADInfo(acquired=not m.group("not"), user=m.group("user").rstrip(".,:;"), message=line[:200])
    return AADInfo(acquired=False, user=None, message=(lines[-1] if lines else "")[:200])


# --------------------------------------------------------------------------- plists


def _plist(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, ExpatError, OverflowError) as exc:
        raise ValueError(f"{what} is not a property list ({str(exc)[:60]})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what} does not hold a dictionary")
    return obj


def _flag(raw: Any, key: str, notes: list[str]) -> bool | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().casefold() in ("1", "true", "yes", "0", "false", "no"):
        return raw.strip().casefold() in ("1", "true", "yes")
    notes.append(f"{key} is neither true nor false ({str(raw)[:40]!r})")
    return None


def _text(raw: Any, key: str, notes: list[str]) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw.strip() if isinstance(raw, str) else None
    notes.append(f"{key} is not a string")
    return None


@dataclass(frozen=True)
class JamfPrefs:
    """``/Library/Preferences/com.jamfsoftware.jamf.plist``: what Device Compliance uses."""

    ca_enabled: bool | None  # microsoftCAEnabled (absent: None)
    native_client_app_id: str | None  # microsoftCANativeClientAppId
    tenant_domain: str | None  # microsoftCATenantDomainName
    jss_url: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def client_is_registration_app(self) -> bool:
        return (self.native_client_app_id or "").casefold() in USER_REGISTRATION_APP_IDS

    @property
    def device_compliance(self) -> bool:
        """Device Compliance is on for this Mac, as Jamf's own migration script requires it."""
        return self.ca_enabled is True and self.client_is_registration_app


def parse_jamf_plist(data: bytes) -> JamfPrefs:
    prefs = _plist(data, "com.jamfsoftware.jamf.plist")
    notes: list[str] = []
    return JamfPrefs(
        ca_enabled=_flag(prefs.get("microsoftCAEnabled"), "microsoftCAEnabled", notes),
        native_client_app_id=_text(prefs.get("microsoftCANativeClientAppId"), "microsoftCANativeClientAppId", notes),
        tenant_domain=_text(prefs.get("microsoftCATenantDomainName"), "microsoftCATenantDomainName", notes),
        jss_url=_text(prefs.get("jss_url"), "jss_url", notes),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class JamfAADPrefs:
    """A user's ``~/Library/Preferences/com.jamf.management.jamfAAD.plist``."""

    have_an_azure_id: bool | None
    last_token: float | None  # last_aad_token_timestamp, epoch seconds
    notes: tuple[str, ...] = field(default=())


def parse_jamfaad_prefs(data: bytes) -> JamfAADPrefs:
    prefs = _plist(data, "com.jamf.management.jamfAAD.plist")
    notes: list[str] = []
    stamp = prefs.get("last_aad_token_timestamp")
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, (int, float))):
        notes.append("last_aad_token_timestamp is not a number")
        stamp = None
    return JamfAADPrefs(_flag(prefs.get("have_an_Azure_id"), "have_an_Azure_id", notes), float(stamp) if stamp is not None else None, tuple(notes))
