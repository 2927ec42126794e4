"""Where the cloud services are and which identities to use: a small TOML file plus environment overrides.

Secrets never live here (see :mod:`cleanup.clients.secrets`). The file looks like::

    [jamf]
    url = "https://example.jamfcloud.com"
    auth = "client"            # client | user
    client_id = "..."          # or username = "..." for auth = "user"
    [graph]
    tenant_id = "<guid or contoso.onmicrosoft.com>"
    client_id = "<app id>"
    auth = "secret"            # secret | certificate
    thumbprint = "<SHA-1 hex of the certificate>"   # auth = "certificate"
    authority_host = "https://login.microsoftonline.com"
    endpoint = "https://graph.microsoft.com"
    [tls]
    ca_bundle = "/path/to/ca.pem"
    [escrow]                   # where step 4 saves what Jamf Pro escrowed for a record (docs/escrow.md)
    store = "auto"             # auto (the keyring, else files) | keyring | file
    recipient = "/path/to/escrow-public.pem"   # files are encrypted to this public key (X25519 or RSA)
    dir = "/path/to/escrow"    # default: the state folder's escrow/
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cleanup.errors import ConfigError, UsageError
from cleanup.readlimit import CONFIG_LIMIT, read_text

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com"


@dataclass(frozen=True)
class CloudConfig:
    jamf_url: str | None = None
    jamf_auth: str = "client"  # client | user
    jamf_client_id: str | None = None
    jamf_username: str | None = None
    tenant_id: str | None = None
    graph_client_id: str | None = None
    graph_auth: str = "secret"  # secret | certificate
    graph_thumbprint: str | None = None  # SHA-1 hex of the certificate; the private key itself is a secret
    authority_host: str = DEFAULT_AUTHORITY_HOST
    graph_endpoint: str = DEFAULT_GRAPH_ENDPOINT
    ca_bundle: str | None = None
    escrow_store: str = "auto"  # auto | keyring | file
    escrow_recipient: str | None = None  # a public key file (absolute path)
    escrow_dir: str | None = None  # absolute path; None: the state folder's escrow/
    path: str | None = None  # the file it came from

    def jamf_configured(self) -> bool:
        account = self.jamf_client_id if self.jamf_auth == "client" else self.jamf_username
        return bool(self.jamf_url and account)

    def graph_configured(self) -> bool:
        return bool(self.tenant_id and self.graph_client_id)

    @property
    def jamf_account(self) -> str | None:
        """The Jamf identity in use: the API client id or the user name."""
        return self.jamf_client_id if self.jamf_auth == "client" else self.jamf_username


# (section, key) -> (CloudConfig field, environment variable)
FIELDS: dict[tuple[str, str], tuple[str, str]] = {
    ("jamf", "url"): ("jamf_url", "CLEANUP_JAMF_URL"),
    ("jamf", "auth"): ("jamf_auth", "CLEANUP_JAMF_AUTH"),
    ("jamf", "client_id"): ("jamf_client_id", "CLEANUP_JAMF_CLIENT_ID"),
    ("jamf", "username"): ("jamf_username", "CLEANUP_JAMF_USERNAME"),
    ("graph", "tenant_id"): ("tenant_id", "CLEANUP_TENANT_ID"),
    ("graph", "client_id"): ("graph_client_id", "CLEANUP_GRAPH_CLIENT_ID"),
    ("graph", "auth"): ("graph_auth", "CLEANUP_GRAPH_AUTH"),
    ("graph", "thumbprint"): ("graph_thumbprint", "CLEANUP_GRAPH_THUMBPRINT"),
    ("graph", "authority_host"): ("authority_host", "CLEANUP_AUTHORITY_HOST"),
    ("graph", "endpoint"): ("graph_endpoint", "CLEANUP_GRAPH_ENDPOINT"),
    ("tls", "ca_bundle"): ("ca_bundle", "CLEANUP_CA_BUNDLE"),
    ("escrow", "store"): ("escrow_store", "CLEANUP_ESCROW_STORE"),
    ("escrow", "recipient"): ("escrow_recipient", "CLEANUP_ESCROW_RECIPIENT"),
    ("escrow", "dir"): ("escrow_dir", "CLEANUP_ESCROW_DIR"),
}
SECTIONS = ("jamf", "graph", "tls", "escrow")
_URL_FIELDS = {"jamf_url", "authority_host", "graph_endpoint"}
_CHOICES = {"jamf_auth": ("client", "user"), "graph_auth": ("secret", "certificate"), "escrow_store": ("auto", "keyring", "file")}
_GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOMAIN_RE = re.compile(r"(?=.{3,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_THUMBPRINT_RE = re.compile(r"[0-9A-Fa-f]{40}")
# Ids and names go into URLs, form bodies and keyring entries: printable, no whitespace or control characters.
_NAME_RE = re.compile(r"[^\s\x00-\x1f\x7f]{1,256}")


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """CLEANUP_CONFIG, else the platform's per-user configuration folder."""
    if env.get("CLEANUP_CONFIG"):
        return Path(env["CLEANUP_CONFIG"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "cleanup" / "config.toml"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cleanup" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = read_text(path, CONFIG_LIMIT, "config file", ConfigError)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _check_shape(data: dict[str, Any], where: str) -> None:
    for section, body in data.items():
        if section not in SECTIONS:
            raise UsageError(f"{where}: unknown section [{section}] (known: {', '.join(SECTIONS)})")
        if not isinstance(body, dict):
            raise UsageError(f"{where}: {section} must be a [{section}] table")
        for key, value in body.items():
            if (section, key) not in FIELDS:
                known = ", ".join(k for s, k in FIELDS if s == section)
                raise UsageError(f"{where}: unknown key {key!r} in [{section}] (known: {known})")
            if not isinstance(value, str):
                raise UsageError(f"{where}: [{section}] {key} must be a string")


def _normalise_url(value: str, label: str) -> str:
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme != "https" or not host:
        raise UsageError(f"{label}: {value!r} is not an https URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(f"{label}: {value!r} must not carry user info, a query or a fragment")
    return value.rstrip("/")


def _validate(field: str, value: str, label: str, base_dir: Path | None) -> str:
    value = value.strip()
    if field in _URL_FIELDS:
        return _normalise_url(value, label)
    if field in _CHOICES:
        if value not in _CHOICES[field]:
            raise UsageError(f"{label}: {value!r} is not one of {', '.join(_CHOICES[field])}")
        return value
    if field == "tenant_id":
        if _GUID_RE.fullmatch(value):
            return value.lower()
        if _DOMAIN_RE.fullmatch(value):
            return value.lower()
        raise UsageError(f"{label}: {value!r} is not a tenant id (a GUID or a domain like contoso.onmicrosoft.com)")
    if field == "graph_thumbprint":
        hexed = value.replace(":", "")
        if not _THUMBPRINT_RE.fullmatch(hexed):
            raise UsageError(f"{label}: {value!r} is not a SHA-1 thumbprint (40 hex digits)")
        return hexed.upper()
    if field == "ca_bundle":
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise UsageError(f"{label}: CA bundle {str(path)!r} does not exist")
        return str(path.resolve())
    if field in ("escrow_recipient", "escrow_dir"):
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or not path.is_absolute():
            raise UsageError(f"{label}: {value!r} is not an absolute path")
        if field == "escrow_recipient" and not path.is_file():
            raise UsageError(f"{label}: escrow recipient key {str(path)!r} does not exist")
        if field == "escrow_dir" and path.exists() and not path.is_dir():
            raise UsageError(f"{label}: escrow folder {str(path)!r} is not a folder")
        return str(path.resolve())
    if not _NAME_RE.fullmatch(value):
        raise UsageError(f"{label}: {value!r} is not a valid value (no spaces or control characters)")
    return value


def load_config(path: Path | str | None = None, env: Mapping[str, str] = os.environ) -> CloudConfig:
    """The config file (missing = empty) with CLEANUP_* environment variables on top, validated."""
    path = Path(path).expanduser() if path is not None else default_config_path(env)
    data = _read_toml(path)
    _check_shape(data, str(path))
    values: dict[str, str] = {}
    for (section, key), (field, var) in FIELDS.items():
        raw = data.get(section, {}).get(key)
        if raw is not None and raw.strip() != "":
            values[field] = _validate(field, raw, f"{path}: [{section}] {key}", path.parent)
        if env.get(var):
            values[field] = _validate(field, env[var], f"environment variable {var}", None)
    return CloudConfig(path=str(path), **values)


def _toml_string(value: str) -> str:
    out = []
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_toml(data: Mapping[str, Mapping[str, str]]) -> str:
    lines: list[str] = []
    for section in SECTIONS:
        body = data.get(section) or {}
        if not body:
            continue
        if lines:
            lines.append("")
        lines.append(f"[{section}]")
        for key, value in body.items():
            lines.append(f"{key} = {_toml_string(str(value))}")
    return "\n".join(lines) + "\n"


def save_config(cfg_values: Mapping[str, Mapping[str, str | None]], path: Path | str) -> CloudConfig:
    """Merge ``{section: {key: value}}`` into the file (``None`` removes a key); atomic, mode 0600.

    Keys not mentioned are kept. The merged file is validated before it replaces the old one, so a bad
    value never reaches disk. Comments in the old file are not preserved.
    """
    path = Path(path).expanduser()
    data = _read_toml(path)
    _check_shape(data, str(path))
    merged: dict[str, dict[str, str]] = {s: dict(data.get(s, {})) for s in SECTIONS}
    for section, body in cfg_values.items():
        for key, value in body.items():
            if (section, key) not in FIELDS:
                raise UsageError(f"{path}: unknown key {key!r} in [{section}]")
            if value is None or value == "":
                merged[section].pop(key, None)
            else:
                merged[section][key] = _validate(FIELDS[(section, key)][0], str(value), f"[{section}] {key}", path.parent)
    text = render_toml(merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return load_config(path, env={})
