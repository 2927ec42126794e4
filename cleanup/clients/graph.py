"""Microsoft Graph: Entra devices and Intune managed devices (find, read, delete, JSON batching).

Every search checks its results on our side: Intune may ignore ``$filter`` and return every device, and
Entra compares names case-insensitively. Paging follows ``@odata.nextLink`` only to the Graph host we
were configured with, so a forged link cannot send our token elsewhere.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from cleanup.clients.auth_graph import GraphTokenProvider
from cleanup.clients.config import CloudConfig
from cleanup.clients.http import (
    HttpClient,
    HttpSettings,
    QueryParams,
    make_session,
    parse_retry_after,
)
from cleanup.clients.secrets import Secrets, env_var
from cleanup.clients.wire import (
    API_VERSION,
    DELETED_DEVICES,
    DELETED_ITEM,
    DELETED_ITEMS_VERSION,
    DEVICES,
    MANAGED_DEVICES,
    error_message,
)
from cleanup.errors import CleanupError, GraphError, ServiceError, UsageError
from cleanup.errors import GraphOutcomeUnknown as OutcomeUnknown
from cleanup.identifiers import odata_literal, valid_guid, valid_serial

BATCH_LIMIT = 20
POOL_SIZE = 64  # `cleanup batch run --concurrency` is at most 64
_DELETE_PATH_RE = re.compile(r"^/[A-Za-z]+(/[A-Za-z]+)*/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def _answer_lost(exc: CleanupError) -> bool:
    """Whether a failed request may have reached the service and acted: no HTTP status (the connection dropped
    or timed out), or a 2xx whose body was unreadable. An error status means it was not acted on."""
    if not isinstance(exc, ServiceError):
        return False  # e.g. no token: nothing was sent
    return exc.status is None or 200 <= exc.status < 300


def _retryable_item(status: int) -> bool:
    """Batch items get the same policy as whole requests: throttling and server errors are retried."""
    return status == 429 or 500 <= status <= 599


def _query(params: QueryParams) -> str:
    """A query string as GraphClient._url writes it ($ and ' kept, the rest percent-encoded)."""
    return urlencode(params, quote_via=quote, safe="$'")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _header(headers: Mapping[str, object] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _error_parts(body: object, headers: Mapping[str, object] | None = None) -> tuple[str | None, str, str | None]:
    """(code, message, request-id) of a Graph error body."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, "", _header(headers, "request-id")
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id") if isinstance(inner, dict) else None
    return error.get("code"), error_message(error), request_id or _header(headers, "request-id")


def error_text(status: int, body: object, headers: Mapping[str, object] | None = None) -> str:
    code, message, request_id = _error_parts(body, headers)
    text = f"{status} {code}: {message}" if code else f"{status} {message}".rstrip()
    return f"{text} (request-id {request_id})" if request_id else text


class GraphClient:
    page_size = 999  # $top; the service caps it (devices 999, managedDevices 1000)
    device_ids_per_filter = 15  # Entra: "Too many child clauses ... containing 'OR' operators: 16. Max allowed: 15"
    batch_attempts = 6

    def __init__(
        self, config: CloudConfig, secrets: Secrets | None = None, http_settings: HttpSettings | None = None, *, sleep: Callable[[float], None] = time.sleep
    ):
        if not config.graph_configured():
            raise UsageError("Microsoft Graph is not configured: run `cleanup creds set graph`")
        self.config = config
        self.secrets = secrets or Secrets()
        self.settings = http_settings or HttpSettings(ca_bundle=config.ca_bundle)
        self.endpoint = config.graph_endpoint.rstrip("/")
        self.base = f"{self.endpoint}/{API_VERSION}"
        session = make_session(self.settings)
        # one kept connection per worker of the largest batch: fewer, and every request past the pool's size
        # would open (and then drop) a new TLS connection of its own
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=POOL_SIZE)
        session.mount("https://", adapter)
        self.http = HttpClient(self.settings, session)
        self._sleep = sleep
        self._provider: GraphTokenProvider | None = None
        self._provider_lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------------

    @property
    def provider(self) -> GraphTokenProvider:
        with self._provider_lock:
            if self._provider is None:
                assert self.config.tenant_id and self.config.graph_client_id  # graph_configured(), checked in __init__
                self._provider = GraphTokenProvider(
                    authority_host=self.config.authority_host,
                    tenant_id=self.config.tenant_id,
                    client_id=self.config.graph_client_id,
                    credential=self._credential(),
                    graph_endpoint=self.endpoint,
                    settings=self.settings,
                )
            return self._provider

    def _credential(self) -> str | dict[str, str]:
        cfg = self.config
        if cfg.graph_auth == "certificate":
            if not cfg.graph_thumbprint:
                raise UsageError("Graph certificate auth needs the certificate thumbprint: run `cleanup creds set graph --certificate PEM`")
            key = self.secrets.private_key("graph-private-key", cfg.graph_client_id)
            if not key:
                raise UsageError(
                    f"no private key for Entra app {cfg.graph_client_id}: run `cleanup creds set graph --certificate PEM` or set {env_var('graph-private-key')}"
                )
            return {"private_key": key, "thumbprint": cfg.graph_thumbprint}
        secret = self.secrets.get("graph-client-secret", cfg.graph_client_id)
        if not secret:
            raise UsageError(f"no client secret for Entra app {cfg.graph_client_id}: run `cleanup creds set graph` or set {env_var('graph-client-secret')}")
        return secret

    def _url(self, path_or_url: str, params: QueryParams | None = None) -> str:
        url = path_or_url if path_or_url.startswith("https://") else self.base + path_or_url
        if params:
            url += "?" + _query(params)
        return url

    def request(self, method: str, path_or_url: str, params: QueryParams | None = None, *, json: Any = None) -> requests.Response:
        provider = self.provider
        token = provider.token()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return self.http.send(method, self._url(path_or_url, params), headers=headers, json=json, auth_refresh=lambda: provider.refresh_headers(failed=token))

    def _display_path(self, url: str) -> str:
        path = urlsplit(url).path
        return path.removeprefix(urlsplit(self.endpoint).path)

    def _fail(self, response: requests.Response, method: str, url: str) -> GraphError:
        try:
            body = response.json()
        except ValueError:
            body = None
        code, _, _ = _error_parts(body, response.headers)
        text = error_text(response.status_code, body, response.headers)
        hint = "the Entra app lacks an application permission (see `cleanup creds test graph`)" if response.status_code == 403 else None
        return GraphError(
            f"Graph {method} {self._display_path(url)}: {text}", hint, code=code, method=method, url=url.split("?", 1)[0], status=response.status_code
        )

    def _json(self, response: requests.Response, method: str, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise GraphError(
                f"Graph {method} {self._display_path(url)}: unreadable answer (HTTP {response.status_code})",
                method=method,
                url=url.split("?", 1)[0],
                status=response.status_code,
            ) from None

    def _get_all(self, path: str, params: QueryParams | None) -> list[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink on the same Graph host only."""
        url = self._url(path, params)
        items: list[dict[str, Any]] = []
        origin = _origin(self.endpoint)
        while url:
            response = self.request("GET", url)
            if response.status_code != 200:
                raise self._fail(response, "GET", url)
            body = self._json(response, "GET", url)
            values = body.get("value") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise GraphError(f"Graph GET {self._display_path(url)}: answer without a value list", status=200)
            items += [v for v in values if isinstance(v, dict)]
            url = body.get("@odata.nextLink")
            if url is not None and (not isinstance(url, str) or _origin(url) != origin):
                raise GraphError(
                    f"Graph GET {self._display_path(path)}: the next page link points to another host; refusing to follow it",
                    code="UnexpectedNextLink",
                    method="GET",
                    status=200,
                )
        return items

    def _get_one(self, path: str) -> dict[str, Any] | None:
        url = self._url(path)
        response = self.request("GET", url)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, "GET", url)
        body: dict[str, Any] | None = self._json(response, "GET", url)
        return body

    def _delete(self, path: str) -> bool:
        url = self._url(path)
        try:
            response = self.request("DELETE", url)
        except CleanupError as exc:
            if not _answer_lost(exc):
                raise
            raise OutcomeUnknown(
                f"Graph DELETE {path}: sent, but no answer came ({exc.message}); whether it was deleted is not known",
                "`cleanup resume` re-reads it",
                method="DELETE",
                url=url,
            ) from None
        if response.status_code in (200, 204):
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, "DELETE", url)

    # -- Entra devices -------------------------------------------------------------------------------

    def devices_by_device_id(self, device_id: str) -> list[dict[str, Any]]:
        """Entra devices whose deviceId equals ``device_id`` (a GUID, compared case-insensitively)."""
        guid = valid_guid(device_id)
        found = self._get_all(DEVICES, [("$filter", f"deviceId eq {odata_literal(guid)}"), ("$top", self.page_size)])
        return [d for d in found if str(d.get("deviceId") or "").lower() == guid]

    def devices_by_device_ids(self, device_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Several deviceId lookups at once, each checked on our side like devices_by_device_id: up to
        ``device_ids_per_filter`` deviceIds joined by ``or`` in one ``$filter`` (Entra refuses more than 15
        such clauses), one GET for up to 15 deviceIds, a ``$batch`` of such filters (<= 20 per POST) beyond."""
        guids = list(dict.fromkeys(valid_guid(d) for d in device_ids))
        if len(guids) <= 1:
            return {g: self.devices_by_device_id(g) for g in guids}
        per = max(1, min(self.device_ids_per_filter, 15))
        groups = [guids[i : i + per] for i in range(0, len(guids), per)]
        out: dict[str, list[dict[str, Any]]] = {g: [] for g in guids}

        def params(group: list[str]) -> QueryParams:
            return [("$filter", " or ".join(f"deviceId eq {odata_literal(g)}" for g in group)), ("$top", self.page_size)]

        def file(found: list[Any]) -> None:
            for d in found:
                key = str(d.get("deviceId") or "").lower() if isinstance(d, dict) else ""
                if key in out:
                    out[key].append(d)

        if len(groups) == 1:
            file(self._get_all(DEVICES, params(guids)))
            return out
        bodies = self._batch_gets(DEVICES, [(f"deviceId {', '.join(group)}", params(group)) for group in groups])
        for group, body in zip(groups, bodies, strict=True):
            if body.get("@odata.nextLink"):
                file(self._get_all(DEVICES, params(group)))  # more than a page: read it the long way
            else:
                file(body.get("value") or [])
        return out

    def devices_by_name(self, name: str) -> list[dict[str, Any]]:
        """Entra devices named ``name`` ignoring case (as Entra compares); callers decide about case differences."""
        if not isinstance(name, str) or not name.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
            raise UsageError(f"{name!r} is not a device name")
        found = self._get_all(DEVICES, [("$filter", f"displayName eq {odata_literal(name)}"), ("$top", self.page_size)])
        wanted = name.casefold()
        return [d for d in found if str(d.get("displayName") or "").casefold() == wanted]

    def devices_by_operating_system(self, operating_system: str, select: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every Entra device whose operatingSystem is ``operating_system`` (Entra compares ignoring case), all
        pages: a fleet scan of one platform (`batch select`) instead of every device of the tenant. ``select``:
        only these properties (``$select``; operatingSystem is always among them)."""
        if not isinstance(operating_system, str) or not operating_system.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in operating_system):
            raise UsageError(f"{operating_system!r} is not an operating system name")
        params: list[tuple[str, object]] = [("$filter", f"operatingSystem eq {odata_literal(operating_system)}"), ("$top", self.page_size)]
        if select:
            params.append(("$select", ",".join(dict.fromkeys((*select, "operatingSystem")))))
        found = self._get_all(DEVICES, params)
        wanted = operating_system.casefold()
        return [d for d in found if str(d.get("operatingSystem") or "").casefold() == wanted]

    def all_devices(self) -> list[dict[str, Any]]:
        """Every Entra device (fleet scans of `batch select`), all pages."""
        return self._get_all(DEVICES, [("$top", self.page_size)])

    def all_managed_devices(self) -> list[dict[str, Any]]:
        """Every Intune managed device (fleet scans), all pages; callers filter on their side."""
        return self._get_all(MANAGED_DEVICES, [("$top", 1000)])

    def device(self, object_id: str) -> dict[str, Any] | None:
        return self._get_one(f"{DEVICES}/{valid_guid(object_id)}")

    def delete_device(self, object_id: str) -> bool:
        """True if deleted now, False if it was already gone (404)."""
        return self._delete(f"{DEVICES}/{valid_guid(object_id)}")

    # -- soft-deleted Entra devices ------------------------------------------------------------------

    def _deleted_items_url(self, path: str) -> str:
        return f"{self.endpoint}/{DELETED_ITEMS_VERSION}{path}"

    def deleted_devices(self) -> list[dict[str, Any]]:
        """Every soft-deleted Entra device of the tenant (all pages). Empty where the tenant keeps none."""
        return self._get_all(self._deleted_items_url(DELETED_DEVICES), [("$top", self.page_size)])

    def restore_deleted_device(self, object_id: str) -> dict[str, Any] | None:
        """Restore a soft-deleted device: the restored object, or None when it is not (or no longer) among the
        deleted items (404). Other answers raise GraphError (403: the app lacks the role or permission)."""
        url = self._deleted_items_url(DELETED_ITEM.format(id=valid_guid(object_id)) + "/restore")
        response = self.request("POST", url)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, "POST", url)
        body = self._json(response, "POST", url)
        if not isinstance(body, dict):
            raise GraphError(f"Graph POST {self._display_path(url)}: answer without the restored object", method="POST", status=200)
        return body

    # -- Intune managed devices ----------------------------------------------------------------------

    def managed_devices_by_serial(self, serial: str) -> list[dict[str, Any]]:
        """Intune records whose serialNumber is exactly ``serial`` (even if Intune ignored the filter)."""
        serial = valid_serial(serial)
        params = [("$filter", f"serialNumber eq {odata_literal(serial)}"), ("$top", min(self.page_size, 1000))]
        return [d for d in self._get_all(MANAGED_DEVICES, params) if d.get("serialNumber") == serial]

    def managed_devices_by_serials(self, serials: list[str]) -> dict[str, list[dict[str, Any]]]:
        """managed_devices_by_serial for several serials: the same lookups as ``$batch`` items (<= 20 per POST,
        throttled and failed items re-sent), each answer checked for the exact serial on our side; an answer
        with more than one page is read again the long way. Every serial is validated before any request."""
        wanted = list(dict.fromkeys(valid_serial(s) for s in serials))
        if len(wanted) <= 1:
            return {s: self.managed_devices_by_serial(s) for s in wanted}
        top = min(self.page_size, 1000)
        bodies = self._batch_gets(MANAGED_DEVICES, [(f"serialNumber {s}", [("$filter", f"serialNumber eq {odata_literal(s)}"), ("$top", top)]) for s in wanted])
        out: dict[str, list[dict[str, Any]]] = {}
        for serial, body in zip(wanted, bodies, strict=True):
            if body.get("@odata.nextLink"):  # more than a page (e.g. the filter was ignored): the long way
                out[serial] = self.managed_devices_by_serial(serial)
                continue
            values = body.get("value")
            if not isinstance(values, list):
                raise GraphError(f"Graph GET {MANAGED_DEVICES} (serialNumber {serial}) in $batch: answer without a value list", status=200, method="GET")
            out[serial] = [d for d in values if isinstance(d, dict) and d.get("serialNumber") == serial]
        return out

    def managed_devices_by_aad_device_ids(self, device_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Intune records whose azureADDeviceId is each of ``device_ids`` (GUIDs; lower-case keys), whatever their
        serial: one lookup per deviceId (``$batch`` items beyond one), each checked on our side, since Intune
        may ignore the filter and return every device; an answer with more than one page is read the long way."""
        guids = list(dict.fromkeys(valid_guid(d) for d in device_ids))
        top = min(self.page_size, 1000)

        def params(guid: str) -> QueryParams:
            return [("$filter", f"azureADDeviceId eq {odata_literal(guid)}"), ("$top", top)]

        def mine(guid: str, found: list[Any]) -> list[dict[str, Any]]:
            return [d for d in found if isinstance(d, dict) and str(d.get("azureADDeviceId") or "").lower() == guid]

        if len(guids) <= 1:
            return {g: mine(g, self._get_all(MANAGED_DEVICES, params(g))) for g in guids}
        bodies = self._batch_gets(MANAGED_DEVICES, [(f"azureADDeviceId {g}", params(g)) for g in guids])
        out: dict[str, list[dict[str, Any]]] = {}
        for guid, body in zip(guids, bodies, strict=True):
            found = self._get_all(MANAGED_DEVICES, params(guid)) if body.get("@odata.nextLink") else body.get("value")
            if not isinstance(found, list):
                raise GraphError(f"Graph GET {MANAGED_DEVICES} (azureADDeviceId {guid}) in $batch: answer without a value list", status=200, method="GET")
            out[guid] = mine(guid, found)
        return out

    def managed_device(self, managed_id: str) -> dict[str, Any] | None:
        return self._get_one(f"{MANAGED_DEVICES}/{valid_guid(managed_id)}")

    def delete_managed_device(self, managed_id: str) -> bool:
        return self._delete(f"{MANAGED_DEVICES}/{valid_guid(managed_id)}")

    # -- batching ------------------------------------------------------------------------------------

    def _batch_gets(self, path: str, queries: list[tuple[str, QueryParams]]) -> list[dict[str, Any]]:
        """GET ``path`` once per (label, params) through /$batch; the answers' bodies in the same order. An item
        answered otherwise than 200 with a JSON object raises GraphError naming its label."""
        answers = self.batch([{"id": str(n), "method": "GET", "url": f"{path}?{_query(params)}"} for n, (_, params) in enumerate(queries)])
        bodies = []
        for n, (label, _) in enumerate(queries):
            ans = answers[str(n)]
            if ans["status"] != 200 or not isinstance(ans.get("body"), dict):
                raise GraphError(
                    f"Graph GET {path} ({label}) in $batch: {error_text(ans['status'], ans.get('body'), ans.get('headers'))}",
                    status=ans["status"],
                    method="GET",
                )
            bodies.append(ans["body"])
        return bodies

    def _post_batch(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        url = self._url("/$batch")
        response = self.request("POST", url, json={"requests": chunk})
        if response.status_code != 200:
            raise self._fail(response, "POST", url)
        body = self._json(response, "POST", url)
        responses = body.get("responses") if isinstance(body, dict) else None
        if not isinstance(responses, list):
            raise GraphError("Graph POST /$batch: answer without responses", method="POST", status=200)
        return [r for r in responses if isinstance(r, dict)]

    def batch(self, requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:  # the parameter shadows the module here only
        """Send requests through /$batch (<= 20 per POST); throttled (429) and failed (5xx) items are re-sent
        after the largest Retry-After among them, up to ``batch_attempts`` times. Returns id -> {"status","headers","body"}."""
        results, _, failure = self._batch(requests)
        if failure is not None:
            raise failure
        return results

    def _batch(self, requests: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], set[str], CleanupError | None]:
        """batch(), but a POST that fails does not lose what earlier POSTs answered: returns (the final answers
        known, the ids whose POST was sent and its answer lost, the failure or None)."""
        by_id: dict[str, dict[str, Any]] = {}
        for item in requests:
            rid = str(item.get("id", ""))
            if not rid or rid in by_id:
                raise UsageError(f"batch request ids must be unique and non-empty (got {rid!r})")
            url = item.get("url")
            if not isinstance(url, str) or not url.startswith("/") or url.startswith("//"):
                raise UsageError(f"batch request {rid}: url must be relative to {API_VERSION} (got {url!r})")
            by_id[rid] = {**item, "id": rid}
        results: dict[str, dict[str, Any]] = {}
        pending = list(by_id)
        refreshed = False
        deadline = time.monotonic() + self.settings.max_total_seconds
        for attempt in range(1, self.batch_attempts + 1):
            retry: list[str] = []
            waits: list[float] = []
            unauthorized = False
            for start in range(0, len(pending), BATCH_LIMIT):
                ids = pending[start : start + BATCH_LIMIT]
                answered = set()
                try:
                    answers = self._post_batch([by_id[rid] for rid in ids])
                except CleanupError as exc:
                    unknown = set(ids) if _answer_lost(exc) else set()
                    return {rid: r for rid, r in results.items() if rid not in unknown}, unknown, exc
                for answer in answers:
                    rid = str(answer.get("id"))
                    if rid not in by_id:
                        continue
                    answered.add(rid)
                    status = int(answer.get("status") or 0)
                    results[rid] = {"status": status, "headers": answer.get("headers") or {}, "body": answer.get("body")}
                    if _retryable_item(status):
                        retry.append(rid)
                        delay = parse_retry_after(_header(answer.get("headers"), "Retry-After"))
                        waits.append(delay if delay is not None else min(self.settings.backoff_max, 2.0**attempt))
                    elif status == 401 and not refreshed:  # the token expired between items: renew once
                        retry.append(rid)
                        unauthorized = True
                missing = [rid for rid in ids if rid not in answered]
                if missing:
                    failure = GraphError(f"Graph POST /$batch: no answer for request(s) {', '.join(missing)}", method="POST", status=200)
                    return {rid: r for rid, r in results.items() if rid not in missing}, set(missing), failure
            if not retry:
                break
            wait = max(waits, default=0.0)
            if self.http.gate is not None and wait:
                self.http.gate.throttled(wait)  # throttled items slow the whole batch down
            if attempt == self.batch_attempts or time.monotonic() + wait > deadline:
                break
            if unauthorized:
                refreshed = True
                self.provider.refresh_headers()
            if wait:
                self._sleep(wait)
            pending = retry
        return {rid: results[rid] for rid in by_id}, set(), None

    def batch_delete(self, paths: list[str]) -> dict[str, str | CleanupError]:
        """DELETE each path (e.g. "/devices/<object id>") through /$batch. Returns path -> "deleted" |
        "already gone" | the error text | an OutcomeUnknown (its POST was sent, the answer lost) | the CleanupError
        that stopped the batch before the item was sent. What earlier POSTs answered is kept either way."""
        for path in paths:
            if not isinstance(path, str) or not _DELETE_PATH_RE.fullmatch(path):
                raise UsageError(f"{path!r} is not a deletable Graph object path (like /devices/<object id>)")
        unique = list(dict.fromkeys(paths))
        answers, unknown, failure = self._batch([{"id": str(n), "method": "DELETE", "url": p} for n, p in enumerate(unique, 1)])
        outcome: dict[str, str | CleanupError] = {}
        for n, path in enumerate(unique, 1):
            answer = answers.get(str(n))
            if failure is not None and str(n) in unknown:  # ids are unknown only when a POST failed
                outcome[path] = OutcomeUnknown(
                    f"Graph DELETE {path}: sent, but the answer was lost ({failure.message}); whether it was deleted is not known",
                    "`cleanup resume` re-reads it",
                    method="DELETE",
                    url=path,
                )
            elif answer is None:
                outcome[path] = failure or GraphError(f"Graph DELETE {path}: no answer", method="DELETE")
            elif answer["status"] in (200, 204):
                outcome[path] = "deleted"
            elif answer["status"] == 404:
                outcome[path] = "already gone"
            else:
                outcome[path] = error_text(answer["status"], answer.get("body"), answer.get("headers"))
        return outcome

    # -- the tenant's set-up (read by `cleanup diagnose`) ---------------------------------------------

    def partners(self) -> list[dict[str, Any]]:
        """The Intune partner connections (Jamf's among them)."""
        return self._get_all("/deviceManagement/deviceManagementPartners", None)

    def service_principals(self, odata_filter: str) -> list[dict[str, Any]]:
        """Service principals matching ``odata_filter`` (built by the caller with identifiers.odata_literal)."""
        return self._get_all("/servicePrincipals", [("$filter", odata_filter)])

    def service_principal(self, object_id: str) -> dict[str, Any] | None:
        return self._get_one(f"/servicePrincipals/{valid_guid(object_id)}")

    def app_role_assignments(self, object_id: str) -> list[dict[str, Any]]:
        """The application permissions granted to a service principal."""
        return self._get_all(f"/servicePrincipals/{valid_guid(object_id)}/appRoleAssignments", None)

    def subscribed_skus(self) -> list[dict[str, Any]]:
        return self._get_all("/subscribedSkus", None)

    def licence_details(self, user_principal_name: str) -> list[dict[str, Any]] | None:
        """The user's licences; None when Entra has no such user."""
        if not isinstance(user_principal_name, str) or not user_principal_name.strip():
            raise UsageError(f"{user_principal_name!r} is not a user principal name")
        try:
            return self._get_all(f"/users/{quote(user_principal_name, safe='@')}/licenseDetails", None)
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise

    def compliance_policies(self) -> list[dict[str, Any]]:
        """Every compliance policy with its assignments."""
        return self._get_all("/deviceManagement/deviceCompliancePolicies", [("$expand", "assignments")])

    def group(self, object_id: str) -> dict[str, Any] | None:
        return self._get_one(f"/groups/{valid_guid(object_id)}")

    # -- who are we ----------------------------------------------------------------------------------

    def roles(self) -> set[str]:
        return self.provider.roles()

    def close(self) -> None:
        self.http.close()
