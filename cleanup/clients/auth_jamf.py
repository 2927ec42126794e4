"""Jamf Pro bearer tokens: API clients (OAuth client credentials) and user accounts (Basic -> token).

One provider is shared by every thread of a :class:`~cleanup.clients.jamf.JamfClient`. The token is cached
and renewed under a lock shortly before it expires (60 s, or a quarter of the lifetime for short-lived
tokens). After a 401 the caller passes the token that failed to :meth:`refresh_headers`, so that sixteen
threads hitting the same expired token cause one renewal, not sixteen.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import requests

from cleanup.clients.http import HttpClient
from cleanup.errors import AuthError, CleanupError, JamfError

MARGIN_SECONDS = 60.0


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise JamfError(f"Jamf Pro sent an unreadable answer to the {what} request (HTTP {response.status_code})", status=response.status_code)
    return data


class JamfTokenProvider:
    """Base: subclasses implement :meth:`_fetch` (and may override :meth:`_renew` and :meth:`close`)."""

    kind = "token"

    def __init__(self, url: str, http: HttpClient, *, clock: Callable[[], float] = time.monotonic):
        self.url = url.rstrip("/")
        self.http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0  # monotonic
        self._lifetime = 0.0
        self.fetches = 0  # token requests made (observability for tests and --verbose)

    # -- override points -----------------------------------------------------------------------------

    def _fetch(self) -> tuple[str, float]:
        """Obtain a new token: (token, lifetime in seconds)."""
        raise NotImplementedError

    def _renew(self, token: str) -> tuple[str, float]:
        """Renew a token that is still valid; by default simply fetch a new one."""
        return self._fetch()

    def close(self) -> None:
        """Give the token up (user tokens are invalidated on the server)."""
        with self._lock:
            self._token = None

    # -- shared behaviour ----------------------------------------------------------------------------

    def _margin(self) -> float:
        return min(MARGIN_SECONDS, self._lifetime / 4)

    def _store(self, result: tuple[str, float]) -> str:
        token, lifetime = result
        self.fetches += 1
        self._token = token
        self._lifetime = max(0.0, lifetime)
        self._expires_at = self._clock() + self._lifetime
        return token

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._margin()

    def token(self) -> str:
        with self._lock:
            token = self._token
            if token is not None and self._fresh():
                return token
            if token is not None and self._clock() < self._expires_at:
                return self._store(self._renew(token))
            return self._store(self._fetch())

    def invalidate_cached(self) -> None:
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def refresh_headers(self, failed: str | None = None) -> dict[str, str]:
        """Headers with a new token. If ``failed`` is given and another thread already replaced that
        token, the current one is returned without asking the server again."""
        with self._lock:
            if failed is not None and self._token is not None and self._token != failed and self._fresh():
                return {"Authorization": f"Bearer {self._token}"}
            self._token = None
            token = self._store(self._fetch())
        return {"Authorization": f"Bearer {token}"}


class JamfClientCredentials(JamfTokenProvider):
    """An API client: ``POST /api/oauth/token`` with client_credentials. ``scope`` lists its API roles."""

    kind = "API client"

    def __init__(self, url: str, client_id: str, secret: str, http: HttpClient, *, clock: Callable[[], float] = time.monotonic):
        super().__init__(url, http, clock=clock)
        self.client_id = client_id
        self._secret = secret
        self.scope: str = ""

    def _fetch(self) -> tuple[str, float]:
        response = self.http.send(
            "POST",
            f"{self.url}/api/oauth/token",
            headers={"Accept": "application/json"},
            data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret},
        )
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"Jamf Pro rejected the API client credentials (HTTP {response.status_code}) for client {self.client_id} at {self.url}",
                "check the client id and secret (`cleanup creds set jamf`) and that the API client is enabled",
            )
        if response.status_code != 200:
            raise JamfError(f"Jamf Pro token request failed: HTTP {response.status_code} at {self.url}", status=response.status_code)
        body = _json(response, "token")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise JamfError(f"Jamf Pro sent no access token at {self.url}", status=response.status_code)
        self.scope = str(body.get("scope") or "")
        return token, float(body.get("expires_in") or 60)

    def role_ids(self) -> list[str]:
        """API role ids from the token's scope ("api-role:1 api-role:2")."""
        self.token()
        ids = []
        for item in self.scope.replace(",", " ").split():
            prefix, _, value = item.partition(":")
            if prefix == "api-role" and value.isdigit():
                ids.append(value)
        return ids


class JamfUserToken(JamfTokenProvider):
    """A user account: Basic auth to ``/api/v1/auth/token``; renewed with keep-alive while still valid."""

    kind = "user"

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        http: HttpClient,
        *,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(url, http, clock=clock)
        self.username = username
        self._password = password
        self._wall_clock = wall_clock

    def _parse(self, response: requests.Response, what: str) -> tuple[str, float]:
        body = _json(response, what)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise JamfError(f"Jamf Pro sent no token at {self.url}", status=response.status_code)
        lifetime = 1800.0
        expires = body.get("expires")
        if isinstance(expires, str):
            try:
                when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
                lifetime = when.timestamp() - self._wall_clock()
            except ValueError:
                pass
        return token, lifetime

    def _fetch(self) -> tuple[str, float]:
        basic = base64.b64encode(f"{self.username}:{self._password}".encode()).decode("ascii")
        response = self.http.send(
            "POST",
            f"{self.url}/api/v1/auth/token",
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        if response.status_code in (401, 403):
            raise AuthError(
                f"Jamf Pro rejected the user credentials (HTTP {response.status_code}) for user {self.username} at {self.url}",
                "check the user name and password (`cleanup creds set jamf --username ...`)",
            )
        if response.status_code != 200:
            raise JamfError(f"Jamf Pro token request failed: HTTP {response.status_code} at {self.url}", status=response.status_code)
        return self._parse(response, "token")

    def _renew(self, token: str) -> tuple[str, float]:
        response = self.http.send(
            "POST",
            f"{self.url}/api/v1/auth/keep-alive",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        if response.status_code == 200:
            return self._parse(response, "keep-alive")
        return self._fetch()

    def close(self) -> None:
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        once = HttpClient(replace(self.http.settings, max_attempts=1), session=self.http.session)
        try:
            once.send("POST", f"{self.url}/api/v1/auth/invalidate-token", headers={"Authorization": f"Bearer {token}"})
        except (CleanupError, requests.RequestException):
            pass  # best effort: the token expires on its own
