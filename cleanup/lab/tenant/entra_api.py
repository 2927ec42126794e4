"""Entra ID (login.microsoftonline.com stand-in): OIDC discovery, JWKS and the v2.0 token endpoint.

Only the client-credentials grant is served, with a client secret or a certificate assertion, which is
what MSAL's ``acquire_token_for_client`` sends.
"""

from __future__ import annotations

from cleanup.lab.tenant.tokens import (
    ASSERTION_TYPE,
    GRAPH_AUDIENCE,
    jwks,
    verify_assertion,
)
from cleanup.lab.tenant.wire import Request, entra_error, json_response

_IGNORED_SCOPES = {"openid", "profile", "offline_access"}


def _known_tenant(svc, tenant: str) -> bool:
    return tenant.lower() == svc.tenant.tenant_id.lower()


def _unknown_tenant(tenant: str):
    return entra_error(
        400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
    )


def token_endpoint(svc, tenant: str) -> str:
    return f"{svc.url}/{tenant}/oauth2/v2.0/token"


def discovery(svc, req: Request, tenant: str):
    if not _known_tenant(svc, tenant):
        return _unknown_tenant(tenant)
    base = f"{svc.url}/{tenant}"
    return json_response(
        200,
        {
            "token_endpoint": token_endpoint(svc, tenant),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{svc.url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "roles"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        },
    )


def keys(svc, req: Request, tenant: str):
    if not _known_tenant(svc, tenant):
        return _unknown_tenant(tenant)
    return json_response(200, jwks())


def _scope_ok(svc, scope: str) -> bool:
    wanted = [s for s in scope.split() if s not in _IGNORED_SCOPES]
    allowed = {f"{svc.url}/.default", f"{GRAPH_AUDIENCE}/.default", f"{GRAPH_AUDIENCE}//.default"}
    return len(wanted) == 1 and wanted[0] in allowed


def token(svc, req: Request, tenant: str):
    if not _known_tenant(svc, tenant):
        return _unknown_tenant(tenant)
    form = req.form()
    if form.get("grant_type") != "client_credentials":
        return entra_error(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{form.get('grant_type')}'.")
    client_id = form.get("client_id", "")
    with svc.tenant.lock:
        app = svc.tenant.graph_app_by_client_id(client_id)
        app_name = next((n for n, a in svc.tenant.graph_apps.items() if a is app), "")
    if app is None:
        return entra_error(
            400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found in the directory '{svc.tenant.tenant_id}'."
        )
    if not _scope_ok(svc, form.get("scope", "")):
        return entra_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {form.get('scope', '')} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource identifier.",
        )
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return entra_error(400, "invalid_request", 50027, "Invalid client_assertion_type.")
        if "certificate_pem" not in app:
            return entra_error(
                401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application."
            )
        reason = verify_assertion(form["client_assertion"], app, token_endpoint(svc, tenant))
        if reason:
            return entra_error(401, "invalid_client", 700027, f"Client assertion failed: {reason}")
    elif "client_secret" in form:
        if app.get("client_secret") is None or form["client_secret"] != app["client_secret"]:
            return entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
    else:
        return entra_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
    lifetime = int(svc.faults.graph_token_lifetime)
    access = svc.tokens.issue_graph(svc.tenant.tenant_id, app_name, app, lifetime)
    return json_response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access})


def register(routes) -> None:
    routes.add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", "discovery")(discovery)
    routes.add("GET", "/{tenant}/discovery/v2.0/keys", "discovery")(keys)
    routes.add("POST", "/{tenant}/oauth2/v2.0/token", "entra_token")(token)
