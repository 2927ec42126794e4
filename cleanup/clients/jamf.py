"""Jamf Pro: find, read and delete computer records; groups; our own privileges.

Jamf asks for at most 5 concurrent connections per server, so every request (token requests included)
takes a slot of a semaphore shared by all clients of the same base URL, and the connection pool is sized
to match. Searches by serial validate the serial first and keep only exact matches afterwards: the
server-side RSQL filter is never trusted alone.

The routes follow the server's version, asked once per client (:mod:`cleanup.clients.jamf_version`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter

from cleanup.clients.auth_jamf import (
    JamfClientCredentials,
    JamfTokenProvider,
    JamfUserToken,
)
from cleanup.clients.config import CloudConfig
from cleanup.clients.http import HttpClient, HttpSettings, QueryParams, make_session
from cleanup.clients.jamf_version import JamfRoutes, Version, parse_version, routes_for
from cleanup.clients.secrets import Secrets, env_var
from cleanup.clients.wire import (  # noqa: F401 - the client's routes, named in wire.py
    CLASSIC_GROUP,
    CLASSIC_GROUP_ID,
    COMPUTER_GROUPS,
    ESCROW_KINDS,
    ESCROW_SECTIONS,
    FILEVAULT,
    INVENTORY,
    JAMF_PRO_VERSION,
    LAPS_ACCOUNTS,
    LAPS_PASSWORD,
    RECOVERY_LOCK,
    REMOVE_MDM,
    SECTIONS,
)
from cleanup.errors import Ambiguous, JamfError, ServiceError, UsageError
from cleanup.errors import JamfOutcomeUnknown as OutcomeUnknown
from cleanup.identifiers import rsql_value, valid_object_id, valid_serial

_MANAGEMENT_ID_RE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
MAX_CONNECTIONS = 5

_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def server_slots(base_url: str) -> threading.BoundedSemaphore:
    """The semaphore limiting concurrent requests to one Jamf Pro server (shared per process)."""
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(base_url.rstrip("/").lower(), threading.BoundedSemaphore(MAX_CONNECTIONS))


class _SlotHttpClient(HttpClient):
    """An HttpClient whose requests (retries included) each hold one of the server's slots.

    The slot is re-entrant per thread: a token renewal made while a request holds a slot (the 401
    refresh) reuses that slot. Callers take the slot *before* the token provider's lock, always in that
    order, so threads waiting for the lock can never starve the renewing thread of a slot.
    """

    def __init__(self, settings: HttpSettings, slots: threading.BoundedSemaphore):
        session = make_session(settings)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_CONNECTIONS)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        super().__init__(settings, session)
        self.slots = slots
        self._held = threading.local()

    @contextmanager
    def slot(self) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            self.slots.acquire()
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                self.slots.release()

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        auth_refresh: Callable[[], Mapping[str, str]] | None = None,
    ) -> requests.Response:
        with self.slot():
            return super().send(method, url, headers=headers, json=json, data=data, auth_refresh=auth_refresh)


def _error_detail(response: requests.Response) -> tuple[str | None, str]:
    """First (code, description) of a Jamf error body, or (None, reason) if it is not one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            lines = str(first.get("description") or "").strip().splitlines()
            return first.get("code"), lines[0] if lines else ""
        if isinstance(body.get("error"), str):
            return body["error"], str(body.get("error_description") or "")
    return None, response.reason or ""


class JamfClient:
    page_size = 100

    def __init__(self, config: CloudConfig, secrets: Secrets | None = None, http_settings: HttpSettings | None = None):
        if not config.jamf_configured():
            raise UsageError("Jamf Pro is not configured: run `cleanup creds set jamf`")
        self.config = config
        assert config.jamf_url is not None  # jamf_configured()
        self.url = config.jamf_url.rstrip("/")
        self.secrets = secrets or Secrets()
        self.settings = http_settings or HttpSettings(ca_bundle=config.ca_bundle)
        self.http = _SlotHttpClient(self.settings, server_slots(self.url))
        self._provider: JamfTokenProvider | None = None
        self._provider_lock = threading.Lock()
        self._version: Version | None = None
        self._version_known = False
        self._version_lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------------

    @property
    def provider(self) -> JamfTokenProvider:
        with self._provider_lock:
            if self._provider is None:
                self._provider = self._make_provider()
            return self._provider

    def _make_provider(self) -> JamfTokenProvider:
        cfg = self.config
        if cfg.jamf_auth == "user":
            password = self.secrets.get("jamf-password", cfg.jamf_username)
            if not password:
                raise UsageError(f"no Jamf Pro password for {cfg.jamf_username}: run `cleanup creds set jamf` or set {env_var('jamf-password')}")
            assert cfg.jamf_username is not None  # jamf_configured(), checked in __init__
            return JamfUserToken(self.url, cfg.jamf_username, password, self.http)
        secret = self.secrets.get("jamf-client-secret", cfg.jamf_client_id)
        if not secret:
            raise UsageError(f"no Jamf Pro API client secret for {cfg.jamf_client_id}: run `cleanup creds set jamf` or set {env_var('jamf-client-secret')}")
        assert cfg.jamf_client_id is not None  # jamf_configured(), checked in __init__
        return JamfClientCredentials(self.url, cfg.jamf_client_id, secret, self.http)

    def request(self, method: str, path: str, params: QueryParams | None = None, *, json: Any = None, accept: str = "application/json") -> requests.Response:
        """Send one authenticated request; a 401 renews the token once. Returns any final response."""
        url = self.url + path
        if params:
            url += "?" + urlencode(params, doseq=True, quote_via=quote)
        provider = self.provider
        with self.http.slot():
            token = provider.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            return self.http.send(method, url, headers=headers, json=json, auth_refresh=lambda: provider.refresh_headers(failed=token))

    def _fail(self, response: requests.Response, method: str, path: str) -> JamfError:
        code, description = _error_detail(response)
        status = response.status_code
        detail = f"{code}: {description}" if code else description
        hint = None
        if status == 403:
            hint = "the Jamf Pro API client or user lacks a privilege (see `cleanup creds test jamf`)"
        return JamfError(f"Jamf Pro {method} {path}: {status} {detail}".rstrip(), hint, code=code, method=method, url=self.url + path, status=status)

    def _json(self, response: requests.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise JamfError(
                f"Jamf Pro {method} {path}: unreadable answer (HTTP {response.status_code})", method=method, url=self.url + path, status=response.status_code
            ) from None

    def _get_json(self, path: str, params: QueryParams | None = None, *, json: Any = None, accept: str = "application/json") -> Any:
        response = self.request("GET", path, params, json=json, accept=accept)
        if response.status_code != 200:
            raise self._fail(response, "GET", path)
        return self._json(response, "GET", path)

    def send_xml(self, method: str, path: str, xml: str) -> requests.Response:
        """One authenticated Classic API request with an XML body (its writes take XML only); a 401 renews the
        token once. Returns any final response."""
        provider = self.provider
        with self.http.slot():
            token = provider.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Content-Type": "application/xml"}
            return self.http.send(method, self.url + path, headers=headers, data=xml.encode(), auth_refresh=lambda: provider.refresh_headers(failed=token))

    # -- the server's version -----------------------------------------------------------------------

    def version(self) -> Version | None:
        """The server's Jamf Pro version, asked once (``GET /api/v1/jamf-pro-version``) and kept for this client;
        None when the server does not say (404) or its answer is not a version: the oldest routes are used then."""
        with self._version_lock:
            if not self._version_known:
                self._version = self._discover()
                self._version_known = True
            return self._version

    def _discover(self) -> Version | None:
        response = self.request("GET", JAMF_PRO_VERSION)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, "GET", JAMF_PRO_VERSION)
        try:
            body = response.json()
        except ValueError:
            return None
        return parse_version(body.get("version") if isinstance(body, dict) else None)

    @property
    def routes(self) -> JamfRoutes:
        """The routes for this server (its version is asked on first use)."""
        return routes_for(self.version())

    # -- computers -----------------------------------------------------------------------------------

    def computers_by_serial(self, serial: str) -> list[dict[str, Any]]:
        """Every inventory record whose serial is exactly ``serial`` (all pages; raw records)."""
        serial = valid_serial(serial)
        inventory = self.routes.inventory
        base = [("section", s) for s in SECTIONS]
        base += [("sort", "id:asc"), ("filter", f"hardware.serialNumber=={rsql_value(serial)}")]
        found: list[dict[str, Any]] = []
        seen = 0
        page = 0
        while True:
            body = self._get_json(inventory, base + [("page", page), ("page-size", self.page_size)])
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise JamfError(f"Jamf Pro GET {inventory}: answer without results", method="GET", url=self.url + inventory, status=200)
            seen += len(results)
            found += [r for r in results if isinstance(r, dict) and _serial_of(r) == serial]
            total = body.get("totalCount")
            if not results or len(results) < self.page_size or (isinstance(total, int) and seen >= total):
                return found
            page += 1

    def _all_pages(self, params: QueryParams) -> list[dict[str, Any]]:
        """Every record of an inventory query, 2000 per page."""
        inventory = self.routes.inventory
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            body = self._get_json(inventory, [*params, ("page", page), ("page-size", 2000)])
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise JamfError(f"Jamf Pro GET {inventory}: answer without results", method="GET", url=self.url + inventory, status=200)
            found += [r for r in results if isinstance(r, dict)]
            if len(results) < 2000:
                return found
            page += 1

    def all_computers(self, sections: Sequence[str] = ("GENERAL", "HARDWARE", "LOCAL_USER_ACCOUNTS")) -> list[dict[str, Any]]:
        """Every inventory record (fleet scans of `batch select`)."""
        return self._all_pages([("section", s) for s in sections] + [("sort", "id:asc")])

    def computers_by_serials(self, serials: list[str], chunk: int = 100) -> dict[str, list[dict[str, Any]]]:
        """Inventory records of many serials at once (RSQL ``=in=``, ``chunk`` serials per query, all pages);
        each record is filed under its own serial only when that is exactly one of the serials asked for."""
        wanted = [valid_serial(s) for s in dict.fromkeys(serials)]
        out: dict[str, list[dict[str, Any]]] = {s: [] for s in wanted}
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            rsql = "hardware.serialNumber=in=(" + ",".join(rsql_value(s) for s in part) + ")"
            for r in self._all_pages([("section", s) for s in SECTIONS] + [("sort", "id:asc"), ("filter", rsql)]):
                serial = _serial_of(r)
                if serial in out:
                    out[serial].append(r)
        return out

    def computers_by_serials_or_names(self, serials: list[str], names: list[str], chunk: int = 100) -> list[dict[str, Any]]:
        """Inventory records whose serial or ``general.name`` is one of those given (RSQL ``=in=``, ``chunk`` values
        per query, all pages; raw records, unfiled: callers check each on their side). Names RSQL cannot quote
        safely (a quote, a backslash, a wildcard, a control character) are left out."""
        values = [("hardware.serialNumber", rsql_value(s)) for s in dict.fromkeys(valid_serial(s) for s in serials)]
        values += [("general.name", f'"{n}"') for n in dict.fromkeys(names) if quotable_name(n)]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            rsql = ",".join(f"{field}=in=({','.join(v for f, v in part if f == field)})" for field in dict.fromkeys(f for f, _ in part))
            for r in self._all_pages([("section", s) for s in SECTIONS] + [("sort", "id:asc"), ("filter", rsql)]):
                found.setdefault(str(r.get("id")), r)
        return list(found.values())

    def computer(self, computer_id: str | int) -> dict[str, Any] | None:
        cid = valid_object_id(computer_id)
        path = f"{self.routes.inventory}/{cid}"
        response = self.request("GET", path, [("section", s) for s in SECTIONS])
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, "GET", path)
        body: dict[str, Any] | None = self._json(response, "GET", path)
        return body

    def delete_computer(self, computer_id: str | int) -> bool:
        """True if deleted now, False if it was already gone (404)."""
        cid = valid_object_id(computer_id)  # before any request, the version's included
        path = f"{self.routes.inventory}/{cid}"
        try:
            response = self.request("DELETE", path)
        except ServiceError as exc:
            if exc.status is not None:
                raise
            raise OutcomeUnknown(
                f"Jamf Pro DELETE {path}: sent, but no answer came ({exc.message}); whether it was deleted is not known",
                "`cleanup resume` re-reads it",
                method="DELETE",
                url=self.url + path,
            ) from None
        if response.status_code in (200, 204):
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, "DELETE", path)

    def remove_mdm_profile(self, computer_id: str | int) -> str | None:
        """Send the unmanage command; returns its commandUuid, or None when Jamf Pro accepted it without naming one
        (the v4 route's answer body is not documented: any 2xx without a commandUuid counts as sent)."""
        cid = valid_object_id(computer_id)
        path = self.routes.remove_mdm.format(id=cid)
        response = self.request("POST", path)
        if response.status_code not in (200, 201, 202, 204):
            raise self._fail(response, "POST", path)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        uuid = body.get("commandUuid") if isinstance(body, dict) else None
        return uuid.strip() if isinstance(uuid, str) and uuid.strip() else None

    def can_read_inventory(self) -> bool:
        """Whether an inventory read is allowed (an actual one-record read); False on 403."""
        inventory = self.routes.inventory
        response = self.request("GET", inventory, [("section", "GENERAL"), ("page", 0), ("page-size", 1)])
        if response.status_code == 403:
            return False
        if response.status_code != 200:
            raise self._fail(response, "GET", inventory)
        return True

    # -- groups --------------------------------------------------------------------------------------

    def computer_groups(self) -> list[dict[str, Any]]:
        body = self._get_json(COMPUTER_GROUPS)
        if not isinstance(body, list):
            raise JamfError(f"Jamf Pro GET {COMPUTER_GROUPS}: expected a list", status=200)
        return body

    def can_read_groups(self) -> bool:
        response = self.request("GET", COMPUTER_GROUPS)
        if response.status_code == 403:
            return False
        if response.status_code != 200:
            raise self._fail(response, "GET", COMPUTER_GROUPS)
        return True

    def group_members(self, name: str) -> list[dict[str, Any]]:
        """Members of a computer group by name, as the Classic API lists them (``id``, ``name``, ``serial_number``);
        JamfError with status 404 if there is no such group. From Jamf Pro 11.28.0 a smart group's members come from
        the Jamf Pro API (the group found by exact name in the group list, its member ids, then their records); a
        static group's from the Classic API by id (no Jamf Pro API version reads them)."""
        if not isinstance(name, str) or not name.strip():
            raise UsageError("a computer group name is required")
        membership = self.routes.smart_group_membership
        if membership is None:
            return self._classic_members(CLASSIC_GROUP.format(name=quote(name, safe="")), name)
        found = [g for g in self.computer_groups() if isinstance(g, dict) and g.get("name") == name]
        if not found:
            raise JamfError(f"Jamf Pro has no computer group named {name!r}", code="NOT_FOUND", method="GET", url=self.url + COMPUTER_GROUPS, status=404)
        if len(found) > 1:
            listed = ", ".join(str(g.get("id")) for g in found)
            raise Ambiguous(f"Jamf Pro has {len(found)} computer groups named {name!r} (ids {listed}); refusing to pick one")
        gid = valid_object_id(str(found[0].get("id")))
        if not found[0].get("smartGroup"):
            return self._classic_members(CLASSIC_GROUP_ID.format(id=gid), name)
        path = membership.format(id=gid)
        body = self.get_or_none(path)
        if body is None:
            raise JamfError(f"Jamf Pro has no computer group named {name!r}", code="NOT_FOUND", method="GET", url=self.url + path, status=404)
        members = body.get("members") if isinstance(body, dict) else None
        ids = [str(m) for m in members or [] if isinstance(m, int | str) and not isinstance(m, bool) and str(m).isdigit()]
        return self._members_by_id(ids)

    def _classic_members(self, path: str, name: str) -> list[dict[str, Any]]:
        response = self.request("GET", path)
        if response.status_code == 404:
            raise JamfError(f"Jamf Pro has no computer group named {name!r}", code="NOT_FOUND", method="GET", url=self.url + path, status=404)
        if response.status_code != 200:
            raise self._fail(response, "GET", path)
        body = self._json(response, "GET", path)
        group = body.get("computer_group") if isinstance(body, dict) else None
        members = group.get("computers") if isinstance(group, dict) else None
        return members if isinstance(members, list) else []

    def _members_by_id(self, ids: list[str], chunk: int = 100) -> list[dict[str, Any]]:
        """The records of these ids in the Classic API's member shape; a member whose record is gone is left out."""
        out: list[dict[str, Any]] = []
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            rsql = "id=in=(" + ",".join(part) + ")"
            for r in self._all_pages([("section", "GENERAL"), ("section", "HARDWARE"), ("sort", "id:asc"), ("filter", rsql)]):
                cid = str(r.get("id"))
                if cid in part:
                    general = r.get("general")
                    name = general.get("name") if isinstance(general, dict) else None
                    out.append({"id": int(cid), "name": name, "serial_number": _serial_of(r)})
        return out

    def get_or_none(self, path: str, params: QueryParams | None = None) -> Any:
        """The JSON body of a GET, or None when Jamf Pro answers 404; JamfError for any other failure."""
        response = self.request("GET", path, params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, "GET", path)
        return self._json(response, "GET", path)

    # -- what Jamf Pro escrowed for a record -----------------------------------------------------------

    def escrow_sections(self, computer_id: str | int) -> dict[str, Any] | None:
        """The record's DISK_ENCRYPTION and SECURITY sections: which secrets it holds, never their values (Read
        Computers suffices); None if the record is gone."""
        cid = valid_object_id(computer_id)
        path = f"{self.routes.inventory}/{cid}"
        body = self.get_or_none(path, [("section", s) for s in ESCROW_SECTIONS])
        if body is None:
            return None
        return body if isinstance(body, dict) else {}

    def filevault(self, computer_id: str | int) -> dict[str, Any] | None:
        """The record's FileVault body, personalRecoveryKey included (View Disk Encryption Recovery Key); None on 404."""
        cid = valid_object_id(computer_id)
        path = self.routes.filevault.format(id=cid)
        body = self.get_or_none(path)
        if body is None:
            return None
        return body if isinstance(body, dict) else {}

    def recovery_lock_password(self, computer_id: str | int) -> str | None:
        """The record's Recovery Lock password, or None when it holds none (404 or empty)."""
        cid = valid_object_id(computer_id)
        path = self.routes.recovery_lock.format(id=cid)
        body = self.get_or_none(path)
        if body is None:
            return None
        value = body.get("recoveryLockPassword") if isinstance(body, dict) else None
        return value if isinstance(value, str) and value else None

    def laps_accounts(self, management_id: str) -> list[str]:
        """The user names of the Mac's LAPS-managed local admin accounts (listing them does not rotate anything);
        an empty list on 404."""
        path = LAPS_ACCOUNTS.format(mid=_management_id(management_id))
        body = self.get_or_none(path)
        if body is None:
            return []
        results = body.get("results") if isinstance(body, dict) else None
        names = [r.get("username") for r in results or [] if isinstance(r, dict)]
        return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))

    def laps_password(self, management_id: str, username: str) -> str:
        """One LAPS password. **Viewing it makes Jamf Pro rotate it** (after its rotation time): never in a dry-run."""
        if not isinstance(username, str) or not username or any(ord(c) < 0x20 or ord(c) == 0x7F for c in username):
            raise UsageError(f"{username!r} is not a local account name")
        path = LAPS_PASSWORD.format(mid=_management_id(management_id), user=quote(username, safe=""))
        response = self.request("GET", path)
        if response.status_code != 200:
            raise self._fail(response, "GET", path)
        body = self._json(response, "GET", path)
        value = body.get("password") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise JamfError(f"Jamf Pro GET {path}: no password in the answer", method="GET", url=self.url + path, status=200)
        return value

    # -- who are we ----------------------------------------------------------------------------------

    def privileges(self) -> set[str] | None:
        """Our Jamf Pro privileges, or None when they cannot be read (API client without Read API Roles)."""
        provider = self.provider
        if isinstance(provider, JamfClientCredentials):
            with self.http.slot():
                ids = provider.role_ids()
            if not ids:
                return None
            privileges: set[str] = set()
            for role_id in ids:
                path = f"/api/v1/api-roles/{valid_object_id(role_id)}"
                response = self.request("GET", path)
                if response.status_code in (403, 404):
                    return None
                if response.status_code != 200:
                    raise self._fail(response, "GET", path)
                body = self._json(response, "GET", path)
                privileges.update(p for p in (body.get("privileges") or []) if isinstance(p, str))
            return privileges
        response = self.request("GET", "/api/v1/auth")
        if response.status_code == 403:
            return None
        if response.status_code != 200:
            raise self._fail(response, "GET", "/api/v1/auth")
        account = (self._json(response, "GET", "/api/v1/auth") or {}).get("account") or {}
        found = {p for p in (account.get("privileges") or []) if isinstance(p, str)}
        for site_privileges in (account.get("privilegesBySite") or {}).values():
            found.update(p for p in site_privileges or [] if isinstance(p, str))
        return found

    def close(self) -> None:
        with self._provider_lock:
            provider, self._provider = self._provider, None
        if provider is not None:
            provider.close()
        self.http.close()


def quotable_name(name: object) -> bool:
    return isinstance(name, str) and bool(name.strip()) and not any(c in name for c in '"\\*') and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)


def _management_id(text: object) -> str:
    """A Jamf Pro managementId (the clientManagementId of the LAPS routes) exactly as the inventory gave it."""
    if not isinstance(text, str) or not _MANAGEMENT_ID_RE.fullmatch(text):
        raise UsageError(f"{text!r} is not a Jamf Pro management id (a UUID)")
    return text


def _serial_of(record: dict[str, Any]) -> str | None:
    hardware = record.get("hardware")
    return hardware.get("serialNumber") if isinstance(hardware, dict) else None
