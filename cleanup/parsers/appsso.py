"""Parser for ``app-sso platform -s`` (``--state``): the Mac's Platform SSO registration, as one user sees it.

The output has a ``Time:`` line, then ``Device Configuration:``, ``Login Configuration:`` and ``User Configuration:``,
each followed by `` (null)`` or a pretty-printed JSON object, then ``SSO Tokens:`` when the user has tokens. All three
``(null)``: no Platform SSO on this Mac. The Entra deviceId is the subject CN of ``deviceSigningCertificate``
(base64url DER, no padding), issued by MS-Organization-Access. Pure functions; the certificate is read with
``cryptography`` when it is importable, and without it the result says "certificate present, deviceId unknown".
Keys starting with ``_`` (key material references) are dropped, never kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

SSO_EXTENSION_ID = "com.microsoft.CompanyPortalMac.ssoextension"
WPJ_ISSUER_CN = "MS-Organization-Access"
LOGIN_SECURE_ENCLAVE = "POLoginTypeUserSecureEnclaveKey"
LOGIN_PASSWORD = "POLoginTypePassword"
USER_STATE_NORMAL = "POUserStateNormal"

_HEADER = re.compile(r"^(Device Configuration|Login Configuration|User Configuration|SSO Tokens):[ \t]*$", re.M)
_NAMED = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*)\s*\(\s*(?P<code>-?\d+)\s*\)\s*$")
_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_SCALAR_LINE = re.compile(r'^ {1,2}"(?P<key>[^"]+)"\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\[{]+?)\s*,?\s*$')
_TENANT_IN_ISSUER = re.compile(r"^https://[^/]+/(?P<tenant>[0-9A-Fa-f-]{36})/v2\.0/?$")


@dataclass(frozen=True)
class NamedValue:
    """A value printed as ``Name (code)``, such as ``POLoginTypeUserSecureEnclaveKey (2)``; name/code None when odd."""

    raw: str
    name: str | None
    code: int | None


@dataclass(frozen=True)
class SigningCertificate:
    """What ``deviceSigningCertificate`` says. ``device_id`` is set only for a readable certificate issued by
    MS-Organization-Access whose subject CN is one GUID; ``problem`` says why it is not."""

    sha1: str | None  # of the DER, upper-case hex; None when the text is not base64
    decoded: bool  # the certificate itself was read
    subject_cn: str | None = None
    issuer_cn: str | None = None
    issuer_ou: str | None = None
    device_id: str | None = None
    problem: str | None = None

    @property
    def issuer_ok(self) -> bool:
        return (self.issuer_cn or "").casefold() == WPJ_ISSUER_CN.casefold()


@dataclass(frozen=True)
class Kerberos:
    realm: str | None
    upn: str | None  # ``alice\@contoso.com@REALM`` as ``alice@contoso.com``


@dataclass(frozen=True)
class PlatformUser:
    """The ``User Configuration`` section: this user's Platform SSO registration."""

    state: NamedValue | None
    login_type: NamedValue | None
    login_user_name: str | None
    kerberos: tuple[Kerberos, ...]
    config: dict[str, Any]

    @property
    def normal(self) -> bool:
        return bool(self.state and self.state.name == USER_STATE_NORMAL)


@dataclass(frozen=True)
class SSOTokens:
    received: str | None
    expiration: str | None
    expired: bool | None


@dataclass(frozen=True)
class PlatformSSOState:
    time: str | None
    device: dict[str, Any] | None  # Device Configuration, "_" keys dropped; None for (null)
    login: dict[str, Any] | None
    user: PlatformUser | None
    tokens: SSOTokens | None
    registration_completed: bool | None
    login_type: NamedValue | None
    extension_identifier: str | None
    certificate: SigningCertificate | None
    tenant_id: str | None  # from the Login Configuration's issuer URL
    notes: tuple[str, ...] = field(default=())

    @property
    def configured(self) -> bool:
        """A Platform SSO configuration is present (all three sections (null): none)."""
        return self.device is not None or self.login is not None or self.user is not None

    @property
    def registered(self) -> bool:
        """The device registration completed and its signing certificate is there."""
        return self.registration_completed is True and self.certificate is not None

    @property
    def secure_enclave(self) -> bool:
        names = {v.name for v in (self.login_type, self.user.login_type if self.user else None) if v is not None}
        return LOGIN_SECURE_ENCLAVE in names

    @property
    def device_id(self) -> str | None:
        return self.certificate.device_id if self.certificate else None


def named(raw: Any) -> NamedValue | None:
    if raw is None:
        return None
    text = str(raw)
    m = _NAMED.match(text)
    return NamedValue(text, m.group("name"), int(m.group("code"))) if m else NamedValue(text, None, None)


def _bool(raw: Any, key: str, notes: list[str]) -> bool | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().casefold() in ("true", "yes", "1", "false", "no", "0"):
        return raw.strip().casefold() in ("true", "yes", "1")
    notes.append(f"app-sso: {key} is neither true nor false ({str(raw)[:40]!r})")
    return None


def _sanitize(obj: Any) -> Any:
    """The object without keys starting with ``_`` (at any depth)."""
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items() if not (isinstance(k, str) and k.startswith("_"))}
    if isinstance(obj, list):
        return [_sanitize(v) for v in obj]
    return obj


def _b64url(text: str) -> bytes | None:
    s = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_signing_certificate(text: str) -> SigningCertificate:
    """Read a ``deviceSigningCertificate`` value (base64url or base64, padding optional)."""
    der = _b64url(text) if isinstance(text, str) else None
    if not der:
        return SigningCertificate(sha1=None, decoded=False, problem="deviceSigningCertificate is not base64")
    sha1 = hashlib.sha1(der).hexdigest().upper()
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
    except ImportError:
        return SigningCertificate(sha1, False, problem="certificate present, deviceId unknown: the cryptography package is not installed")
    try:
        cert = x509.load_der_x509_certificate(der)
        cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        issuer_cns = [str(a.value) for a in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)]
        issuer_ous = [str(a.value) for a in cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    except (ValueError, TypeError) as exc:
        return SigningCertificate(sha1, False, problem=f"deviceSigningCertificate is not a DER certificate ({str(exc)[:60]})")
    subject_cn = cns[0] if len(cns) == 1 else None
    issuer_cn = issuer_cns[0] if len(issuer_cns) == 1 else None
    issuer_ou = issuer_ous[0] if len(issuer_ous) == 1 else None
    found = SigningCertificate(sha1, True, subject_cn, issuer_cn, issuer_ou)
    if len(cns) != 1:
        problem = f"the certificate's subject has {len(cns)} CNs"
    elif not found.issuer_ok:
        problem = f"the certificate is issued by {', '.join(issuer_cns) or 'no CN'!r}, not {WPJ_ISSUER_CN}"
    elif not _GUID.match(cns[0]):
        problem = f"the certificate's subject CN {cns[0][:60]!r} is not a GUID"
    else:
        return SigningCertificate(sha1, True, subject_cn, issuer_cn, issuer_ou, device_id=cns[0].lower())
    return SigningCertificate(sha1, True, subject_cn, issuer_cn, issuer_ou, problem=problem)


def _loose_object(text: str) -> dict[str, Any]:
    """The top-level scalar ``"key" : value`` lines of an object that is not valid JSON."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        m = _SCALAR_LINE.match(line)
        if not m or m.group("key") in out:
            continue
        value = m.group("value")
        try:
            out[m.group("key")] = json.loads(value)
        except ValueError:
            out[m.group("key")] = value
    return out


def _section(name: str, body: str, notes: list[str]) -> dict[str, Any] | None:
    text = body.lstrip()
    if text.startswith("(null)"):
        return None
    if not text.startswith("{"):
        notes.append(f"app-sso: {name} is neither (null) nor an object ({text[:30]!r})")
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        notes.append(f"app-sso: {name} is not valid JSON: only its top-level values were read")
        end = re.search(r"^\}", text, re.M)
        obj = _loose_object(text[: end.start()] if end else text)
    if not isinstance(obj, dict):
        notes.append(f"app-sso: {name} is not an object")
        return None
    return _sanitize(obj)


def _kerberos(raw: Any) -> tuple[Kerberos, ...]:
    found = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        realm = entry.get("realm") if isinstance(entry.get("realm"), str) else None
        upn = entry.get("upn") if isinstance(entry.get("upn"), str) else None
        if upn and realm and upn.endswith("@" + realm):
            upn = upn[: -len(realm) - 1]
        found.append(Kerberos(realm, upn.replace("\\@", "@") if upn else None))
    return tuple(found)


def _user(config: dict[str, Any] | None) -> PlatformUser | None:
    if config is None:
        return None
    login_cfg = config.get("userLoginConfiguration")
    name = login_cfg.get("loginUserName") if isinstance(login_cfg, dict) else None
    return PlatformUser(
        state=named(config.get("state")),
        login_type=named(config.get("loginType")),
        login_user_name=name if isinstance(name, str) else None,
        kerberos=_kerberos(config.get("kerberosStatus")),
        config=config,
    )


def _tokens(body: str) -> SSOTokens:
    received = expiration = None
    expired = None
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    for i, line in enumerate(lines[:-1]):
        if line == "Received:":
            received = lines[i + 1]
        elif line == "Expiration:":
            value = lines[i + 1]
            m = re.match(r"^(?P<at>\S+)\s*\((?P<what>[^)]*)\)\s*$", value)
            expiration = m.group("at") if m else value
            if m:
                what = m.group("what").strip().casefold()
                expired = False if what == "not expired" else True if what == "expired" else None
    return SSOTokens(received, expiration, expired)


def parse_platform_state(text: str) -> PlatformSSOState:
    """Facts from ``app-sso platform -s``. ValueError when the text has none of the three configuration headers."""
    text = (text or "").replace("\r\n", "\n")
    heads = list(_HEADER.finditer(text))
    if not any(h.group(1) != "SSO Tokens" for h in heads):
        raise ValueError("app-sso: not the output of `app-sso platform -s`")
    notes: list[str] = []
    bodies: dict[str, str] = {}
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        if h.group(1) in bodies:
            notes.append(f"app-sso: {h.group(1)} appears twice: the first is used")
            continue
        bodies[h.group(1)] = text[h.end() : end]
    for name in ("Device Configuration", "Login Configuration", "User Configuration"):
        if name not in bodies:
            notes.append(f"app-sso: no {name} section")
    device = _section("Device Configuration", bodies["Device Configuration"], notes) if "Device Configuration" in bodies else None
    login = _section("Login Configuration", bodies["Login Configuration"], notes) if "Login Configuration" in bodies else None
    user_cfg = _section("User Configuration", bodies["User Configuration"], notes) if "User Configuration" in bodies else None
    time_m = re.search(r"^Time:\s*(.+?)\s*$", text, re.M)
    cert = None
    extension = None
    if device is not None:
        raw_cert = device.get("deviceSigningCertificate")
        if isinstance(raw_cert, str) and raw_cert.strip():
            cert = decode_signing_certificate(raw_cert)
            if cert.problem:
                notes.append(f"app-sso: {cert.problem}")
        extension = device.get("extensionIdentifier") if isinstance(device.get("extensionIdentifier"), str) else None
    tenant = None
    issuer = login.get("issuer") if login else None
    if isinstance(issuer, str) and (m := _TENANT_IN_ISSUER.match(issuer.strip())):
        tenant = m.group("tenant").lower()
    return PlatformSSOState(
        time=time_m.group(1) if time_m else None,
        device=device,
        login=login,
        user=_user(user_cfg),
        tokens=_tokens(bodies["SSO Tokens"]) if "SSO Tokens" in bodies else None,
        registration_completed=_bool(device.get("registrationCompleted"), "registrationCompleted", notes) if device else None,
        login_type=named(device.get("loginType")) if device else None,
        extension_identifier=extension,
        certificate=cert,
        tenant_id=tenant,
        notes=tuple(notes),
    )
