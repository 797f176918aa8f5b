"""Microsoft identity platform: admin consent, app tokens, and OpenID Connect sign-in.

    GET/POST /login/{tenant}/adminconsent                     consent page -> redirect
    POST     /login/{tenant}/oauth2/v2.0/token                client_credentials, auth. code
    GET/POST /login/{tenant}/oauth2/v2.0/authorize            sign-in page (OIDC)
    GET      /login/{tenant}/v2.0/.well-known/openid-configuration
    GET      /login/{tenant}/discovery/v2.0/keys              JWKS
    GET      /login/oidc/userinfo

``/login`` stands for ``https://login.microsoftonline.com``.  Discovery for the
multi-tenant aliases ``common``, ``organizations`` and ``consumers`` answers the
issuer template ``B/login/{tenantid}/v2.0`` as Microsoft does; a tenant's own
document names its tenant.  Errors have AAD's shape (``error``,
``error_description`` starting with the AADSTS code, ``error_codes``, ``timestamp``,
``trace_id``, ``correlation_id``, ``error_uri``).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from . import oidc, pages
from .identity import MicrosoftApp, new_secret
from .oidc import OAuthError
from .state import SandboxState, Token
from .wire import Request, Response, redirect

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
MULTI_TENANT = ("common", "organizations", "consumers")


def aad_error(req: Request, status: int, error: str, code: int, text: str) -> Response:
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    description = (
        f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} "
        f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%S')}Z"
    )
    return Response(status, {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{req.base_url()}/login/error?code={code}",
    }, {"Cache-Control": "no-store"})


def _params(req: Request) -> dict[str, str]:
    raw = req.form() if req.method == "POST" else req.flat_query()
    return {k: v for k, v in raw.items() if isinstance(v, str)}


def admin_consent(st: SandboxState, req: Request, tenant: str) -> Response:
    params = _params(req)
    with st.lock:
        app = st.identity.microsoft_apps.get(params.get("client_id") or "")
        if app is None:
            return pages.error_page(400, f"AADSTS700016: Application with identifier "
                                    f"{params.get('client_id')!r} was not found.")
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris or [""])[0]
        if redirect_uri not in app.redirect_uris:
            return pages.error_page(400, f"AADSTS50011: The redirect URI {redirect_uri!r} "
                                    "does not match the redirect URIs configured for the "
                                    "application.")
        state = params.get("state")
        if req.method != "POST":
            controls = ""
            if tenant in MULTI_TENANT:
                controls = pages.text_input("tenant", "Tenant ID")
            return pages.form_page(
                title=f"Microsoft sandbox: admin consent for {app.client_id}",
                action=f"/login/{tenant}/adminconsent",
                intro=f"{app.client_id} asks an administrator to grant it its application "
                      "permissions in the tenant.",
                hidden={"client_id": app.client_id, "redirect_uri": redirect_uri,
                        "state": state},
                controls=controls, approve="Accept", deny="Cancel",
            )
        if params.get("decision") != "approve":
            return redirect(redirect_uri, {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the "
                                     "app.",
                "state": state,
            })
        granted = params.get("tenant") if tenant in MULTI_TENANT else tenant
        if not granted:
            return pages.error_page(400, "A tenant ID is required.")
        st.identity.consents.add((granted, app.client_id))
        app.consents += 1
    return redirect(redirect_uri, {
        "admin_consent": "True", "tenant": granted, "state": state,
        "scope": GRAPH_DEFAULT_SCOPE,
    })


def token(st: SandboxState, req: Request, tenant: str) -> Response:
    form = req.form()
    basic = req.basic_auth()
    client_id = form.get("client_id") or (basic[0] if basic else "")
    secret = form.get("client_secret") or (basic[1] if basic else "")
    grant = form.get("grant_type") or ""
    with st.lock:
        try:
            body = _grant(st, req, tenant, form, client_id, secret, grant)
        except OAuthError as exc:
            st.identity.count("microsoft", client_id, grant, ok=False)
            return aad_error(req, exc.status, exc.error, exc.aadsts, exc.description)
        st.identity.count("microsoft", client_id, grant, ok=True)
    return Response(200, body, {"Cache-Control": "no-store"})


def _grant(st: SandboxState, req: Request, tenant: str, form: dict[str, str],
           client_id: str, secret: str, grant: str) -> dict[str, Any]:
    ident = st.identity
    if not client_id:
        raise OAuthError(400, "invalid_request", "The request body must contain the "
                         "following parameter: 'client_id'.", 900144)
    if grant == "client_credentials":
        app = ident.microsoft_apps.get(client_id)
        return _client_credentials(st, tenant, form, app, client_id, secret)
    if grant == "authorization_code":
        client = ident.idp_client("microsoft", client_id)
        if client is None:
            raise OAuthError(400, "unauthorized_client", f"Application with identifier "
                             f"'{client_id}' was not found in the directory '{tenant}'.",
                             700016)
        if secret != client.client_secret:
            raise OAuthError(401, "invalid_client", "Invalid client secret provided.",
                             7000215)
        code = oidc.check_code(ident.take_code(form.get("code") or ""), client_id, form,
                               time.time(), aadsts=(70008, 50148))
        return oidc.signin_tokens(ident, st.keys, "microsoft", code)
    raise OAuthError(400, "unsupported_grant_type", f"The provided grant type '{grant}' is "
                     "not supported.", 70003)


def _client_credentials(st: SandboxState, tenant: str, form: dict[str, str],
                        app: MicrosoftApp | None, client_id: str,
                        secret: str) -> dict[str, Any]:
    if tenant in MULTI_TENANT:
        raise OAuthError(400, "invalid_request", "No tenant-identifying information found "
                         "in either the request or implied by any provided credentials.",
                         50059)
    if app is None or (tenant, client_id) not in st.identity.consents:
        raise OAuthError(400, "unauthorized_client", f"Application with identifier "
                         f"'{client_id}' was not found in the directory '{tenant}'. This can "
                         "happen if the application has not been installed by the "
                         "administrator of the tenant or consented to by any user in the "
                         "tenant.", 700016)
    if secret != app.client_secret:
        raise OAuthError(401, "invalid_client", "Invalid client secret provided. Ensure the "
                         "secret being sent in the request is the client secret value, not "
                         "the client secret ID.", 7000215)
    if form.get("scope") != GRAPH_DEFAULT_SCOPE:
        raise OAuthError(400, "invalid_scope", f"The provided value for scope "
                         f"{form.get('scope')!r} is not valid. Client credential flows must "
                         "have a scope value with /.default suffixed to the resource "
                         "identifier (application ID URI).", 1002012)
    minted = Token(
        token=new_secret("eyGraph-"), org_id=tenant, partner_for=[],
        expires_at=time.time() + app.access_lifetime, audience="graph",
        client_id=client_id,
    )
    st.tokens[minted.token] = minted
    app.tokens_issued += 1
    return {
        "token_type": "Bearer",
        "expires_in": app.access_lifetime,
        "ext_expires_in": app.access_lifetime,
        "access_token": minted.token,
    }


def signin_authorize(st: SandboxState, req: Request, tenant: str) -> Response:
    params = _params(req)
    decision = params.get("decision") if req.method == "POST" else None
    with st.lock:
        return oidc.signin_authorize(
            st.identity, params, issuer="microsoft",
            tenant=None if tenant in MULTI_TENANT else tenant,
            action=f"/login/{tenant}/oauth2/v2.0/authorize",
            issuer_url=req.base_url() + "/login/{tenant}/v2.0", decision=decision,
        )


def discovery(st: SandboxState, req: Request, tenant: str) -> Response:
    base = req.base_url()
    issuer_tenant = "{tenantid}" if tenant in MULTI_TENANT else tenant
    doc = oidc.discovery(
        base, issuer=f"{base}/login/{issuer_tenant}/v2.0",
        authorize=f"/login/{tenant}/oauth2/v2.0/authorize",
        token=f"/login/{tenant}/oauth2/v2.0/token", userinfo_url="/login/oidc/userinfo",
        jwks=f"/login/{tenant}/discovery/v2.0/keys",
        claims=["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid", "tid",
                "ver", "email", "preferred_username", "xms_edov"],
    )
    doc["tenant_region_scope"] = "NA"
    return Response(200, doc)


def userinfo(st: SandboxState, req: Request) -> Response:
    with st.lock:
        info = oidc.userinfo(st.identity, req.bearer_token(), "microsoft")
    if info is None:
        return Response(401, {"error": {
            "code": "InvalidAuthenticationToken",
            "message": "Access token validation failure. Invalid audience or expired.",
        }}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return Response(200, info)


def revoke(st: SandboxState, tenant: str, client_id: str) -> dict[str, Any]:
    """Withdraw the consent of ``client_id`` in ``tenant`` and kill its Graph tokens."""
    with st.lock:
        had = (tenant, client_id) in st.identity.consents
        st.identity.consents.discard((tenant, client_id))
        dead = [t.token for t in st.tokens.values()
                if t.audience == "graph" and t.org_id == tenant and t.client_id == client_id]
        for name in dead:
            del st.tokens[name]
    return {"consentWithdrawn": had, "revokedAccessTokens": len(dead)}
