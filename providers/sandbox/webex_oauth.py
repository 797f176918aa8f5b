"""Webex identity: integration OAuth (authorization code + PKCE, refresh) and Login with Webex.

    GET/POST /webex/v1/authorize        consent page (integration) or sign-in page (openid)
    POST     /webex/v1/access_token     grant_type=authorization_code | refresh_token
    GET      /webex/v1/.well-known/openid-configuration   (also under /webex/idb/)
    GET      /webex/v1/userinfo, /webex/v1/verification (JWKS)

Webex serves its discovery document on the API host while its issuer is the
identity broker (``https://idbroker.webex.com/idb``); the sandbox mirrors that:
issuer ``B/webex/idb``, endpoints under ``B/webex/v1``.  Access tokens minted here are
ordinary sandbox tokens (``SandboxState.tokens``) for the Webex API of the chosen
org, and of the customer orgs it is a partner for.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

from . import oidc, pages
from .identity import WebexClient, new_secret
from .oidc import OAuthError
from .state import SandboxState, Token
from .webex import tracking_id
from .wire import Request, Response, redirect

ISSUER_PATH = "/webex/idb"
AUTHORIZE_PATH = "/webex/v1/authorize"
TOKEN_PATH = "/webex/v1/access_token"  # noqa: S105 (a path, not a secret)
USERINFO_PATH = "/webex/v1/userinfo"
JWKS_PATH = "/webex/v1/verification"


def oauth_error(req: Request, status: int, error: str, description: str) -> Response:
    """Webex's error body for its token endpoint: the identity broker's OAuth error
    wrapped in the usual ``message``/``errors``/``trackingId``, plus ``error`` and
    ``error_description`` at the top level for OAuth client libraries."""
    tracking = tracking_id(req)
    phrase = HTTPStatus(status).phrase
    message = (
        f"POST failed: HTTP/1.1 {status} {phrase} (url = {req.base_url()}{ISSUER_PATH}"
        f"/oauth2/v1/access_token, request/response TrackingId = {tracking}, "
        f"error = '({error}) {description}')"
    )
    return Response(status, {
        "error": error,
        "error_description": description,
        "message": message,
        "errors": [{"description": message}],
        "trackingId": tracking,
    }, {"Cache-Control": "no-store"})


def known_orgs(st: SandboxState) -> list[tuple[str, str]]:
    """(orgId, label) of every org the sandbox knows, registered ones first."""
    orgs: dict[str, str] = {o.org_id: o.name for o in st.identity.webex_orgs.values()}
    for token in st.tokens.values():
        if token.usable_by("webex"):
            orgs.setdefault(token.org_id, token.org_id)
    for person in st.people.values():
        orgs.setdefault(person.org_id, person.org_id)
    return [(org_id, f"{name} ({org_id})" if name != org_id else org_id)
            for org_id, name in orgs.items()]


def authorize(st: SandboxState, req: Request) -> Response:
    params = req.form() if req.method == "POST" else req.flat_query()
    params = {k: v for k, v in params.items() if isinstance(v, str)}
    decision = params.get("decision") if req.method == "POST" else None
    with st.lock:
        ident = st.identity
        client_id = params.get("client_id")
        scopes = (params.get("scope") or "").split()
        if "openid" in scopes and ident.idp_client("webex", client_id) is not None:
            return oidc.signin_authorize(
                ident, params, issuer="webex", tenant=None, action=AUTHORIZE_PATH,
                issuer_url=req.base_url() + ISSUER_PATH, decision=decision,
            )
        client = ident.webex_clients.get(client_id or "")
        if client is None:
            return pages.error_page(400, f"Unknown Webex integration {client_id!r}.")
        return _integration_authorize(st, client, params, decision)


def _integration_authorize(st: SandboxState, client: WebexClient, params: dict[str, str],
                           decision: str | None) -> Response:
    redirect_uri = params.get("redirect_uri") or ""
    if redirect_uri not in client.redirect_uris:
        return pages.error_page(400, f"Redirect URI {redirect_uri!r} is not registered "
                                f"for {client.client_id}.")
    state = params.get("state")
    if params.get("response_type") != "code":
        return redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        return redirect(redirect_uri, {
            "error": "invalid_request",
            "error_description": "PKCE is required: code_challenge with "
                                 "code_challenge_method=S256.",
            "state": state,
        })
    orgs = known_orgs(st)
    if decision is None:
        scope = params.get("scope") or ""
        return pages.form_page(
            title=f"Webex sandbox: authorize {client.client_id}",
            action=AUTHORIZE_PATH,
            intro=f"The integration {client.client_id} asks for access to an organization.",
            hidden={k: params.get(k) for k in (
                "response_type", "client_id", "redirect_uri", "scope", "state",
                "code_challenge", "code_challenge_method")},
            controls=pages.scope_list(scope) + "\n" + pages.select(
                "orgId", "Organization", orgs),
        )
    if decision != "approve":
        return redirect(redirect_uri, {
            "error": "access_denied", "error_description": "The user denied access.",
            "state": state,
        })
    org_id = params.get("orgId")
    if org_id not in {o for o, _ in orgs}:
        return pages.error_page(400, f"Unknown organization {org_id!r}.")
    code = st.identity.new_code(
        client_id=client.client_id, redirect_uri=redirect_uri,
        scope=" ".join((params.get("scope") or "").split()),
        challenge=params["code_challenge"], org_id=org_id,
    )
    client.codes_issued += 1
    return redirect(redirect_uri, {"code": code.code, "state": state})


def access_token(st: SandboxState, req: Request) -> Response:
    form = req.form()
    basic = req.basic_auth()
    client_id = form.get("client_id") or (basic[0] if basic else "")
    secret = form.get("client_secret") or (basic[1] if basic else "")
    grant = form.get("grant_type") or ""
    with st.lock:
        try:
            body = _grant(st, req, form, client_id, secret, grant)
        except OAuthError as exc:
            st.identity.count("webex", client_id, grant, ok=False)
            client = st.identity.webex_clients.get(client_id)
            if client is not None and grant == "refresh_token":
                client.refused_refreshes += 1
            return oauth_error(req, exc.status, exc.error, exc.description)
        st.identity.count("webex", client_id, grant, ok=True)
    return Response(200, body, {"Cache-Control": "no-store"})


def _grant(st: SandboxState, req: Request, form: dict[str, str], client_id: str,
           secret: str, grant: str) -> dict[str, Any]:
    ident = st.identity
    client = ident.webex_clients.get(client_id)
    idp = ident.idp_client("webex", client_id)
    known = [c.client_secret for c in (client, idp) if c is not None]
    if not known or secret not in known:
        raise OAuthError(401, "invalid_client", "The client authentication failed.")
    now = time.time()
    if grant == "authorization_code":
        code = oidc.check_code(ident.take_code(form.get("code") or ""), client_id, form, now)
        if code.user is not None:
            return oidc.signin_tokens(ident, st.keys, "webex", code)
        assert client is not None and code.org_id is not None
        client.code_exchanges += 1
        refresh = ident.new_refresh(client, code.org_id, code.scope)
        return _token_body(st, client, refresh.token, now)
    if grant == "refresh_token":
        if client is None:
            raise OAuthError(400, "unauthorized_client", "This client cannot refresh.")
        refresh = ident.refresh_grants.get(form.get("refresh_token") or "")
        if refresh is None or refresh.client_id != client_id or now >= refresh.expires_at:
            raise OAuthError(400, "invalid_grant",
                             "The refresh token provided is expired, revoked, malformed, or "
                             "invalid.")
        client.refreshes += 1
        if client.rotate:
            del ident.refresh_grants[refresh.token]
            refresh = ident.new_refresh(client, refresh.org_id, refresh.scope,
                                        grant_id=refresh.grant_id)
        else:
            refresh.expires_at = now + client.refresh_lifetime
        return _token_body(st, client, refresh.token, now)
    raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant!r}.")


def _token_body(st: SandboxState, client: WebexClient, refresh_token: str,
                now: float) -> dict[str, Any]:
    refresh = st.identity.refresh_grants[refresh_token]
    org = st.identity.webex_orgs.get(refresh.org_id)
    token = Token(
        token=new_secret("wx-"), org_id=refresh.org_id,
        partner_for=list(org.partner_for) if org else [],
        expires_at=now + client.access_lifetime, audience="webex",
        client_id=client.client_id, grant_id=refresh.grant_id,
    )
    st.tokens[token.token] = token
    return {
        "access_token": token.token,
        "expires_in": client.access_lifetime,
        "refresh_token": refresh.token,
        "refresh_token_expires_in": int(refresh.expires_at - now),
        "token_type": "Bearer",
        "scope": refresh.scope,
    }


def discovery(st: SandboxState, req: Request) -> Response:
    base = req.base_url()
    return Response(200, oidc.discovery(
        base, issuer=base + ISSUER_PATH, authorize=AUTHORIZE_PATH, token=TOKEN_PATH,
        userinfo_url=USERINFO_PATH, jwks=JWKS_PATH,
        claims=["iss", "aud", "sub", "name", "email", "email_verified",
                "preferred_username", "nonce", "iat", "exp"],
    ))


def userinfo(st: SandboxState, req: Request) -> Response:
    with st.lock:
        info = oidc.userinfo(st.identity, req.bearer_token(), "webex")
    if info is None:
        return Response(401, {
            "message": "The request requires a valid access token set in the Authorization "
                       "request header.",
            "errors": [{"description": "Invalid or expired access token."}],
            "trackingId": tracking_id(req),
        }, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return Response(200, info)


def revoke(st: SandboxState, org_id: str | None, refresh_token: str | None) -> dict[str, int]:
    """Revoke every grant of an org, or one refresh token, with their access tokens."""
    with st.lock:
        ident = st.identity
        grants = [
            g for g in ident.refresh_grants.values()
            if (org_id is not None and g.org_id == org_id) or g.token == refresh_token
        ]
        grant_ids = {g.grant_id for g in grants}
        for g in grants:
            del ident.refresh_grants[g.token]
        dead = [
            t.token for t in st.tokens.values()
            if t.audience == "webex" and (
                t.grant_id in grant_ids or (org_id is not None and t.org_id == org_id))
        ]
        for token in dead:
            del st.tokens[token]
    return {"revokedRefreshTokens": len(grants), "revokedAccessTokens": len(dead)}
