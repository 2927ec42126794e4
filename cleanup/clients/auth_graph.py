"""App-only tokens for Microsoft Graph through MSAL (client secret or certificate).

One ``ConfidentialClientApplication`` per authority, client and credential per process: MSAL keeps its
token cache in the application object and renews the token near expiry, so :meth:`GraphTokenProvider.token`
simply asks it every time. MSAL gets a ``requests.Session`` that puts our CA bundle and timeout on every
request, because requests ignores ``Session.verify`` whenever ``REQUESTS_CA_BUNDLE`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from typing import Any

import jwt
import msal
import requests

from cleanup.clients.http import USER_AGENT, HttpSettings, origin_of, proxies_for
from cleanup.clients.secrets import check_private_key, describe, env_var
from cleanup.errors import AuthError, CleanupError, ConfigError

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
# Errors that mean "these credentials are wrong or unknown", as opposed to a service problem.
_CREDENTIAL_ERRORS = {"invalid_client", "unauthorized_client"}

_APPS: dict[tuple[str, str, str, str], msal.ConfidentialClientApplication] = {}
_APPS_LOCK = threading.Lock()


class VerifyingSession(requests.Session):
    """A session that always verifies against ``verify`` and applies ``timeout`` (for MSAL)."""

    def __init__(self, verify: str | bool, timeout: tuple[float, float] | float):
        super().__init__()
        self._verify = verify
        self._timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        self.trust_env = False  # proxies from the environment are looked up once per host (http.proxies_for)

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("proxies", proxies_for(origin_of(url if isinstance(url, str) else url.decode())))
        kwargs["verify"] = self._verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, *args, **kwargs)


def _fingerprint(credential: str | dict[str, str]) -> str:
    text = credential if isinstance(credential, str) else json.dumps(credential, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _first_line(text: str) -> str:
    """The gist of an AADSTS error_description: its first sentence ("AADSTS7000215: Invalid client secret
    provided."), without the advice, trace and correlation ids that follow."""
    lines = (text or "").strip().splitlines()
    line = lines[0].strip() if lines else ""
    line = re.split(r"\s+Trace ID:", line, maxsplit=1)[0]
    sentence = re.match(r"(AADSTS\d+: .*?\.)(\s|$)", line)
    return sentence.group(1) if sentence else line


def _unreachable(authority: str, exc: BaseException) -> CleanupError:
    if isinstance(exc, requests.exceptions.SSLError):
        return CleanupError(
            f"cannot reach the Entra authority {authority}: TLS verification failed",
            "behind a TLS-inspecting proxy, set its CA bundle ([tls] ca_bundle or CLEANUP_CA_BUNDLE)",
        )
    return CleanupError(f"cannot reach the Entra authority {authority}: {type(exc).__name__}", "check the network, proxy and authority host")


def _key_source(client_id: str) -> str:
    """Where the private key of ``client_id`` came from, for messages (the environment wins over the keyring)."""
    name = "graph-private-key"
    return f"the {describe(name)} ({env_var(name)}, or the keyring entry '{name}:{client_id}')"


def get_app(
    authority_host: str, tenant_id: str, client_id: str, credential: str | dict[str, str], settings: HttpSettings
) -> msal.ConfidentialClientApplication:
    """The process-wide MSAL application for this authority, client and credential."""
    authority = f"{authority_host.rstrip('/')}/{tenant_id}"
    # The credential's fingerprint is part of the key so a corrected secret is not shadowed by a cached app.
    key = (authority, client_id, _fingerprint(credential), str(settings.verify))
    with _APPS_LOCK:
        app = _APPS.get(key)
        if app is not None:
            return app
        if isinstance(credential, dict):
            check_private_key(str(credential.get("private_key") or ""), _key_source(client_id))
        try:
            app = msal.ConfidentialClientApplication(
                client_id,
                client_credential=credential,
                authority=authority,
                instance_discovery=authority_host.rstrip("/") == MICROSOFT_LOGIN,
                http_client=VerifyingSession(settings.verify, settings.timeout),
            )
        except ValueError as exc:
            # MSAL raises ValueError for a failed tenant discovery and for unusable credentials/keys.
            if isinstance(credential, dict) and "key" in str(exc).lower():
                raise AuthError("the Entra app certificate private key cannot be used (not a valid PEM private key)") from None
            raise CleanupError(
                f"Entra tenant discovery failed for {authority}",
                "check the tenant id and the authority host",
            ) from None
        except requests.RequestException as exc:
            raise _unreachable(authority, exc) from None
        _APPS[key] = app
        return app


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded without verification (we only read our own roles from it)."""
    try:
        claims = _b64url_json(token.split(".")[1])
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class GraphTokenProvider:
    def __init__(
        self,
        *,
        authority_host: str,
        tenant_id: str,
        client_id: str,
        credential: str | dict[str, str],
        graph_endpoint: str,
        settings: HttpSettings | None = None,
    ):
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self.client_id = client_id
        self.scopes = [f"{graph_endpoint.rstrip('/')}/.default"]
        self._settings = settings or HttpSettings()
        self._authority_host = authority_host
        self._tenant_id = tenant_id
        self._credential = credential
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        self._token: str | None = None
        self.expires_at: float | None = None  # wall clock (time.time())
        self.token_source: str | None = None  # "identity_provider" | "cache"

    @property
    def app(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            self._app = get_app(self._authority_host, self._tenant_id, self.client_id, self._credential, self._settings)
        return self._app

    def _acquire(self) -> str:
        try:
            result = self.app.acquire_token_for_client(self.scopes)
        except requests.RequestException as exc:
            raise _unreachable(self.authority, exc) from None
        except jwt.PyJWTError:  # the key loaded but cannot sign the client assertion
            raise ConfigError(f"{_key_source(self.client_id)} cannot sign a token request") from None
        except ValueError:
            raise CleanupError(f"Entra sent an unreadable token answer ({self.authority})") from None
        if not result or "access_token" not in result:
            result = result or {}
            error = str(result.get("error") or "unknown_error")
            detail = _first_line(str(result.get("error_description") or "")) or error
            if error in _CREDENTIAL_ERRORS or "AADSTS700016" in detail:
                raise AuthError(
                    f"Entra rejected the app credentials: {detail}", "check the tenant id, client id and secret/certificate (`cleanup creds set graph`)"
                )
            raise AuthError(f"Entra did not issue a token: {detail}")
        self._token = result["access_token"]
        self.token_source = result.get("token_source")
        expires_in = result.get("expires_in")
        self.expires_at = time.time() + float(expires_in) if expires_in is not None else None
        return self._token

    def token(self) -> str:
        with self._lock:
            return self._acquire()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def refresh_headers(self, failed: str | None = None) -> dict[str, str]:
        """Headers with a token the server has not rejected yet: MSAL's cached access tokens are dropped
        (unless another thread already replaced ``failed``), so MSAL has to ask Entra again."""
        with self._lock:
            if failed is None or self._acquire() == failed:
                cache = self.app.token_cache
                for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    cache.remove_at(item)
                self._acquire()
            return {"Authorization": f"Bearer {self._token}"}

    def claims(self) -> dict[str, Any]:
        return jwt_claims(self.token())

    def roles(self) -> set[str]:
        roles = self.claims().get("roles") or []
        return {r for r in roles if isinstance(r, str)}

    def close(self) -> None:
        pass  # the application (and its cache) is shared by the process on purpose
