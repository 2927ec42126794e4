"""Entra: OIDC discovery and the token endpoint, driven by the real MSAL."""

from __future__ import annotations

import jwt
import msal
import pytest
import requests

from cleanup.lab.tenant.model import GRAPH_DIAGNOSE_ROLES


class CaSession(requests.Session):
    """MSAL's http_client: REQUESTS_CA_BUNDLE would override Session.verify, so pass verify per request."""

    def __init__(self, ca: str):
        super().__init__()
        self.ca = ca

    def request(self, *args, **kwargs):
        kwargs["verify"] = self.ca
        return super().request(*args, **kwargs)


def _app(tenant, client_id, credential, tenant_id=None):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{tenant.url}/{tenant_id or tenant.credentials['tenant_id']}",
        instance_discovery=False,
        http_client=CaSession(str(tenant.ca_pem)),
    )


def test_msal_client_secret(tenant):
    app_creds = tenant.credentials["graph_apps"]["full"]
    result = _app(tenant, app_creds["client_id"], app_creds["client_secret"]).acquire_token_for_client([f"{tenant.url}/.default"])
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
    header = jwt.get_unverified_header(result["access_token"])
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == tenant.credentials["tenant_id"] and claims["appid"] == app_creds["client_id"]
    assert sorted(claims["roles"]) == sorted(["Device.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All", *GRAPH_DIAGNOSE_ROLES])
    assert claims["nbf"] <= claims["iat"] < claims["exp"]


def test_msal_certificate(tenant):
    cert = tenant.credentials["graph_apps"]["cert"]
    app = _app(tenant, cert["client_id"], {"private_key": cert["private_key_pem"], "thumbprint": cert["thumbprint"]})
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    r = requests.get(f"{tenant.url}/v1.0/devices", headers={"Authorization": "Bearer " + result["access_token"]}, verify=str(tenant.ca_pem), timeout=10)
    assert r.status_code == 200


def test_msal_certificate_with_sha256_thumbprint(tenant):
    cert = tenant.credentials["graph_apps"]["cert"]
    app = _app(tenant, cert["client_id"], {"private_key": cert["private_key_pem"], "public_certificate": cert["certificate_pem"]})
    assert "access_token" in app.acquire_token_for_client([f"{tenant.url}/.default"])


def test_assertion_signed_by_another_key_is_rejected(tenant):
    cert = tenant.credentials["graph_apps"]["cert"]
    other = tenant.tenant.add_graph_app("other-cert", ["Device.Read.All"], certificate=True)
    # the registered certificate's thumbprint in the header, but signed with another key
    app = _app(tenant, cert["client_id"], {"private_key": other["private_key_pem"], "thumbprint": cert["thumbprint"]})
    result = app.acquire_token_for_client([f"{tenant.url}/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]
    assert "signature" in result["error_description"]
    # an unregistered certificate (its own thumbprint)
    app = _app(tenant, cert["client_id"], {"private_key": other["private_key_pem"], "thumbprint": other["thumbprint"]})
    result = app.acquire_token_for_client([f"{tenant.url}/.default"])
    assert result["error_codes"] == [700027] and "not registered" in result["error_description"]


def test_wrong_secret_has_the_real_error_shape(client):
    creds = client.creds
    r = client.post(
        f"/{creds['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["graph_apps"]["full"]["client_id"],
            "client_secret": "nope",
            "scope": f"{client.url}/.default",
        },
    )
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    assert "nope" not in r.text


def test_wrong_secret_through_msal(tenant):
    app_creds = tenant.credentials["graph_apps"]["full"]
    result = _app(tenant, app_creds["client_id"], "wrong").acquire_token_for_client([f"{tenant.url}/.default"])
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]


def test_unknown_client_and_bad_scope(client):
    tid = client.creds["tenant_id"]
    r = client.post(
        f"/{tid}/oauth2/v2.0/token", data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y", "scope": f"{client.url}/.default"}
    )
    assert r.status_code == 400 and r.json()["error_codes"] == [700016]
    app = client.creds["graph_apps"]["full"]
    r = client.post(
        f"/{tid}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "User.Read"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_unknown_tenant_makes_msal_raise(tenant):
    app_creds = tenant.credentials["graph_apps"]["full"]
    with pytest.raises(ValueError):
        _app(tenant, app_creds["client_id"], app_creds["client_secret"], tenant_id="00000000-0000-0000-0000-000000000000").acquire_token_for_client(
            [f"{tenant.url}/.default"]
        )


def test_discovery_document(client):
    tid = client.creds["tenant_id"]
    doc = client.get(f"/{tid}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{client.url}/{tid}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"].startswith(f"{client.url}/{tid}/")
    assert doc["issuer"] == f"{client.url}/{tid}/v2.0"
    keys = client.get(doc["jwks_uri"].removeprefix(client.url)).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["kid"]
    r = client.get("/contoso.invalid/v2.0/.well-known/openid-configuration")
    assert r.status_code == 400 and r.json()["error"] == "invalid_tenant"


def test_tokens_verify_with_the_published_key(client):
    tid = client.creds["tenant_id"]
    token = client.graph_token("readonly")
    keys = client.get(f"/{tid}/discovery/v2.0/keys").json()["keys"]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(keys[0])
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["roles"] == ["Device.Read.All", "DeviceManagementManagedDevices.Read.All", *GRAPH_DIAGNOSE_ROLES]
