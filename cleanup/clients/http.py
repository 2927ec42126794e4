"""The one way this tool talks HTTP: a session, explicit TLS/timeouts, and one retry policy.

Rules kept here so no client has to remember them:

* ``verify=`` and ``timeout=`` are passed on **every** request. requests replaces ``Session.verify`` with
  ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment whenever ``verify`` is not given per
  request, which would silently ignore a ``--ca-bundle`` option.
* Retries (built on tenacity): 429 and 503 honour ``Retry-After`` (seconds or an HTTP-date); other 5xx,
  timeouts and connection errors back off exponentially with full jitter, capped at ``backoff_max``.
  Other 4xx are never retried. Attempts are bounded by ``max_attempts`` and by ``max_total_seconds``: the
  client gives up rather than start a wait that would cross the budget.
* A 401 calls ``auth_refresh()`` once (it returns fresh headers) and retries at once; a second 401 is
  returned to the caller.
* Failures raise :class:`ServiceError` with one line: method, URL without query string, status or
  exception class, attempts. Never headers, bodies or tokens.
"""

from __future__ import annotations

import email.utils
import functools
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import requests
from tenacity import RetryCallState, Retrying

from cleanup import __version__
from cleanup.clients.throttle import Gate
from cleanup.errors import ServiceError

USER_AGENT = f"cleanup/{__version__}"

#: query parameters in order, as urlencode takes them: [("$filter", "..."), ("$top", 999)]
QueryParams = Sequence[tuple[str, object]]

# Retry-After is honoured for these; other retryable statuses use exponential backoff.
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class HttpSettings:
    timeout: tuple[float, float] | float = (5, 30)  # (connect, read) seconds
    max_attempts: int = 6
    max_total_seconds: float = 120
    ca_bundle: str | None = None  # path of a PEM bundle to trust instead of the default store
    backoff_base: float = 0.5
    backoff_max: float = 30

    @property
    def verify(self) -> str | bool:
        return self.ca_bundle if self.ca_bundle else True


def make_session(settings: HttpSettings | None = None) -> requests.Session:
    """A session with our User-Agent. Verification is still passed per request by :class:`HttpClient`."""
    settings = settings or HttpSettings()
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = settings.verify
    # The environment is read once per host (see HttpClient._proxies), not on every request: requests would
    # scan every environment variable for proxy settings per request, which a batch pays thousands of times.
    # With trust_env off, REQUESTS_CA_BUNDLE cannot override our verify either.
    session.trust_env = False
    return session


@functools.lru_cache(maxsize=256)
def proxies_for(scheme_host: str) -> dict[str, str]:
    """The environment's proxy for one scheme://host (honours NO_PROXY), looked up once."""
    return dict(requests.utils.get_environ_proxies(scheme_host + "/"))


def redact_url(url: str) -> str:
    """The URL without user info, query string or fragment (they can carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_ts = time.time() if now is None else now
    return max(0.0, when.timestamp() - now_ts)


def _is_retryable_status(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def _is_retryable_exception(exc: BaseException | None) -> bool:
    # SSLError is a ConnectionError subclass, but a certificate problem does not heal by waiting.
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, (requests.Timeout, requests.ConnectionError))


class _Call:
    """State of one ``send``: the headers in use and whether the 401 refresh was spent."""

    def __init__(self, headers: dict[str, str] | None, auth_refresh: Callable[[], Mapping[str, str]] | None):
        self.headers = dict(headers or {})
        self.auth_refresh = auth_refresh
        self.refresh_due = False
        self.refresh_used = False
        self.waits: dict[int, float] = {}  # attempt number -> wait before the next attempt
        self.attempts = 0


class HttpClient:
    """Sends every request of the tool. ``sleep``, ``clock``, ``wall_clock`` and ``rand`` are injectable for tests."""

    def __init__(
        self,
        settings: HttpSettings | None = None,
        session: requests.Session | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ):
        self.settings = settings or HttpSettings()
        self.session = session or make_session(self.settings)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rand = rand
        #: shared by a batch's workers (see cleanup.clients.throttle.Gate); None for single runs
        self.gate: Gate | None = None

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- policy -------------------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(backoff_max, backoff_base * 2**(attempt-1))]."""
        s = self.settings
        ceiling: float = min(s.backoff_max, s.backoff_base * (2 ** max(0, attempt - 1)))
        return max(0.0, self._rand() * ceiling)

    def _next_wait(self, call: _Call, rs: RetryCallState) -> float:
        n = rs.attempt_number
        if n not in call.waits:
            call.waits[n] = self._compute_wait(call, rs)
        return call.waits[n]

    def _compute_wait(self, call: _Call, rs: RetryCallState) -> float:
        outcome = rs.outcome
        if outcome is not None and not outcome.failed:
            response = outcome.result()
            if response.status_code == 401:
                return 0.0  # refresh and retry at once
            if response.status_code in RETRY_AFTER_STATUSES:
                delay = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
                if delay is not None:
                    return delay
        return self.backoff(rs.attempt_number)

    def _should_retry(self, call: _Call, rs: RetryCallState) -> bool:
        outcome = rs.outcome
        if outcome is None:
            return False
        if outcome.failed:
            return _is_retryable_exception(outcome.exception())
        response = outcome.result()
        if response.status_code == 401:
            return call.refresh_due
        return _is_retryable_status(response.status_code)

    def _should_stop(self, call: _Call, start: float, rs: RetryCallState) -> bool:
        s = self.settings
        if rs.attempt_number >= s.max_attempts:
            return True
        elapsed = self._clock() - start
        return elapsed + self._next_wait(call, rs) > s.max_total_seconds

    # -- sending ------------------------------------------------------------------------------------

    def _attempt(self, call: _Call, method: str, url: str, json: Any, data: Any) -> requests.Response:
        if call.refresh_due:
            call.refresh_due = False
            call.refresh_used = True
            if call.auth_refresh is not None:  # refresh_due is only ever set when there is one
                call.headers.update(call.auth_refresh() or {})
        call.attempts += 1
        if self.gate is not None:
            self.gate.before(method, url, json)
        response = self.session.request(
            method,
            url,
            headers=call.headers,
            json=json,
            data=data,
            verify=self.settings.verify,
            timeout=self.settings.timeout,
            proxies=proxies_for(origin_of(url)) if not self.session.trust_env else None,
        )
        if response.status_code == 401 and call.auth_refresh is not None and not call.refresh_used:
            call.refresh_due = True
        if self.gate is not None and response.status_code in RETRY_AFTER_STATUSES:
            delay = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
            self.gate.throttled(1.0 if delay is None else delay)
        return response

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
        """Send one request under the retry policy; returns the final response (including 4xx)."""
        method = method.upper()
        call = _Call(dict(headers) if headers else None, auth_refresh)
        start = self._clock()

        def give_up(rs: RetryCallState) -> requests.Response:
            outcome = rs.outcome
            if outcome is not None and not outcome.failed:
                response: requests.Response = outcome.result()  # tenacity's Future holds Any
                if response.status_code == 401:
                    return response  # out of attempts before the refresh: the caller sees the 401
            raise self._error(method, url, rs)

        retrying = Retrying(
            sleep=self._sleep,
            stop=lambda rs: self._should_stop(call, start, rs),
            wait=lambda rs: self._next_wait(call, rs),
            retry=lambda rs: self._should_retry(call, rs),
            retry_error_callback=give_up,
            reraise=True,
        )
        try:
            return retrying(self._attempt, call, method, url, json, data)
        except ServiceError:
            raise
        except requests.RequestException as exc:  # not retryable (TLS, invalid URL, ...)
            raise self._exception_error(method, url, exc, attempts=call.attempts) from None

    # -- errors -------------------------------------------------------------------------------------

    def _error(self, method: str, url: str, rs: RetryCallState) -> ServiceError:
        outcome = rs.outcome
        attempts = rs.attempt_number
        if outcome is not None and outcome.failed:
            return self._exception_error(method, url, outcome.exception(), attempts)
        status = outcome.result().status_code if outcome is not None else None
        return ServiceError(
            f"{method} {redact_url(url)} failed: HTTP {status} after {_attempts(attempts)}",
            "The service kept failing or throttling; try again later.",
            method=method,
            url=redact_url(url),
            status=status,
            attempts=attempts,
        )

    def _exception_error(self, method: str, url: str, exc: BaseException | None, attempts: int) -> ServiceError:
        hint = None
        if isinstance(exc, requests.exceptions.SSLError):
            hint = "TLS verification failed; behind a TLS-inspecting proxy, pass its CA bundle."
        elif isinstance(exc, (requests.Timeout, requests.ConnectionError)):
            hint = "Check the network, proxy and service address."
        return ServiceError(
            f"{method} {redact_url(url)} failed: {type(exc).__name__} after {_attempts(attempts)}",
            hint,
            method=method,
            url=redact_url(url),
            status=None,
            attempts=attempts,
        )


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"
