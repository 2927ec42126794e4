"""Tokens the emulated tenant issues (Graph JWTs, opaque Jamf tokens) and client-assertion checks."""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from cleanup.lab.tenant.keys import signing_key

GRAPH_AUDIENCE = "https://graph.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class GraphGrant:
    app_name: str
    client_id: str
    roles: list[str]
    expires: float


@dataclass
class JamfGrant:
    kind: str  # "client" | "user"
    principal: str  # name in Tenant.jamf_clients / Tenant.jamf_users
    expires: float


def _kid() -> str:
    numbers = signing_key().public_key().public_numbers()
    return base64.urlsafe_b64encode(numbers.n.to_bytes(256, "big")[:15]).decode().rstrip("=")


def jwks() -> dict:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key().public_key(), as_dict=True)
    jwk.update(kid=_kid(), use="sig", alg="RS256")
    return {"keys": [jwk]}


class TokenStore:
    """Issued tokens by value; a token is valid while it is here and not expired."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graph: dict[str, GraphGrant] = {}
        self._jamf: dict[str, JamfGrant] = {}
        self.issued = 0

    # -- Graph ---------------------------------------------------------------------------------------

    def issue_graph(self, tenant_id: str, app_name: str, app: dict, lifetime: int) -> str:
        now = time.time()
        payload = {
            "aud": GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + lifetime),
            "tid": tenant_id,
            "appid": app["client_id"],
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app["client_id"])),
            "idtyp": "app",
            "roles": list(app["roles"]),
            "ver": "1.0",
            "uti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(payload, signing_key(), algorithm="RS256", headers={"kid": _kid(), "typ": "JWT"})
        with self._lock:
            self._graph[token] = GraphGrant(app_name, app["client_id"], list(app["roles"]), now + lifetime)
            self.issued += 1
        return token

    def check_graph(self, token: str) -> tuple[GraphGrant | None, str]:
        """(grant, "") or (None, "expired" | "invalid")."""
        with self._lock:
            grant = self._graph.get(token)
        if grant is None:
            return None, "invalid"
        if time.time() >= grant.expires:
            return None, "expired"
        return grant, ""

    # -- Jamf ----------------------------------------------------------------------------------------

    def issue_jamf(self, kind: str, principal: str, lifetime: float) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires = time.time() + lifetime
        with self._lock:
            self._jamf[token] = JamfGrant(kind, principal, expires)
            self.issued += 1
        return token, expires

    def check_jamf(self, token: str) -> JamfGrant | None:
        with self._lock:
            grant = self._jamf.get(token)
        if grant is None or time.time() >= grant.expires:
            return None
        return grant

    def revoke_jamf(self, token: str) -> None:
        with self._lock:
            self._jamf.pop(token, None)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def verify_assertion(assertion: str, app: dict, token_endpoint: str) -> str:
    """Check a certificate client assertion; returns "" when valid, else the reason (for the error text)."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return "The client assertion is not a valid JWT."
    cert = x509.load_pem_x509_certificate(app["certificate_pem"].encode())
    sha1 = _b64url(cert.fingerprint(hashes.SHA1()))
    sha256 = _b64url(cert.fingerprint(hashes.SHA256()))
    if str(header.get("x5t", "")).rstrip("=") != sha1 and str(header.get("x5t#S256", "")).rstrip("=") != sha256:
        return "The certificate with identifier used to sign the client assertion is not registered on application."
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # keys.app_certificate makes every app certificate RSA
    try:
        claims = jwt.decode(
            assertion,
            public_key,
            algorithms=["RS256", "PS256"],
            audience=token_endpoint,
            issuer=app["client_id"],
            options={"require": ["exp", "aud", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        return "The provided client assertion is expired."
    except jwt.InvalidAudienceError:
        return "The audience claim in the client assertion does not match the token endpoint."
    except jwt.PyJWTError:
        return "Client assertion failed signature validation."
    if claims.get("sub") != app["client_id"]:
        return "The subject claim of the client assertion does not match the client id."
    return ""
