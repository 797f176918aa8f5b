"""OpenID Connect sign-in, shared by the Microsoft and Webex identity providers.

The authorize page lists the issuer's sign-in users (``POST /_sandbox/idp/users``)
in a labelled select with a "Sign in" button; approving redirects back with a
single-use code, which the issuer's token endpoint exchanges for an access token
(good for userinfo) and an RS256 ID token.  Claims differ per issuer:

* Microsoft: ``iss`` (``B/login/{tid}/v2.0``), ``aud``, ``sub``, ``oid``, ``tid``,
  ``name``, ``preferred_username``, ``ver``, ``nonce``, ``iat``/``nbf``/``exp``, and
  ``email`` plus ``xms_edov: true`` for a verified user; an unverified user's token
  has no ``email`` claim and ``xms_edov: false``.
* Webex: ``iss`` (``B/webex/idb``), ``aud``, ``sub``, ``name``, ``email``,
  ``email_verified``, ``preferred_username``, ``nonce``, ``iat``/``nbf``/``exp``.
"""

from __future__ import annotations

from typing import Any

from . import pages
from .identity import IDP_ACCESS_LIFETIME, AuthCode, IdentityState, IdpUser, pkce_matches
from .keys import KeyRing, timed_claims
from .wire import Response, redirect

ID_TOKEN_LIFETIME = 3600


class OAuthError(Exception):
    """An OAuth error: ``error`` code, human description, HTTP status."""

    def __init__(self, status: int, error: str, description: str, aadsts: int = 0) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.aadsts = aadsts  # Microsoft's numeric code, 0 elsewhere


def signin_authorize(
    ident: IdentityState,
    params: dict[str, str],
    *,
    issuer: str,
    tenant: str | None,
    action: str,
    issuer_url: str,
    decision: str | None,
) -> Response:
    """GET (decision None) shows the sign-in page; POST approves or denies."""
    client = ident.idp_client(issuer, params.get("client_id"))
    redirect_uri = params.get("redirect_uri") or ""
    if client is None:
        return pages.error_page(400, f"Unknown {issuer} application {params.get('client_id')!r}.")
    if redirect_uri not in client.redirect_uris:
        return pages.error_page(400, f"Redirect URI {redirect_uri!r} is not registered.")
    state = params.get("state")
    if params.get("response_type") != "code":
        return redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    challenge = params.get("code_challenge")
    if challenge and params.get("code_challenge_method") != "S256":
        return redirect(redirect_uri, {
            "error": "invalid_request",
            "error_description": "code_challenge_method must be S256.",
            "state": state,
        })
    users = ident.users_of(issuer, tenant)
    if decision is None:
        return pages.form_page(
            title=f"Sandbox {issuer}: sign in to {client.client_id}",
            action=action,
            intro="Choose the account to sign in with.",
            hidden={k: params.get(k) for k in _FORWARDED},
            controls=pages.select("user", "Account", [(u.sub, f"{u.name} <{u.email}>")
                                                      for u in users]),
            approve="Sign in",
            deny="Cancel",
        )
    if decision != "approve":
        return redirect(redirect_uri, {
            "error": "access_denied", "error_description": "The user cancelled.", "state": state
        })
    user = next((u for u in users if u.sub == params.get("user")), None)
    if user is None:
        return pages.error_page(400, "Choose one of the listed accounts.")
    code = ident.new_code(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=params.get("scope") or "openid",
        challenge=challenge or None,
        user=user,
        nonce=params.get("nonce"),
        issuer_url=issuer_url.replace("{tenant}", user.tenant),
    )
    return redirect(redirect_uri, {"code": code.code, "state": state})


_FORWARDED = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
    "code_challenge", "code_challenge_method", "response_mode", "prompt",
)


def check_code(code: AuthCode | None, client_id: str, form: dict[str, str],
               now: float, aadsts: tuple[int, int] = (0, 0)) -> AuthCode:
    """The code if it may be exchanged by this client now, else OAuthError."""
    if code is None or code.client_id != client_id:
        raise OAuthError(400, "invalid_grant", "The authorization code is invalid or was "
                         "already used.", aadsts[0])
    if now >= code.expires_at:
        raise OAuthError(400, "invalid_grant", "The authorization code has expired.", aadsts[0])
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError(400, "invalid_grant", "redirect_uri does not match the one of the "
                         "authorization request.", aadsts[0])
    if code.challenge is not None and not pkce_matches(form.get("code_verifier") or "",
                                                       code.challenge):
        raise OAuthError(400, "invalid_grant", "The code_verifier does not match the "
                         "code_challenge of the authorization request.", aadsts[1])
    return code


def id_token_claims(issuer: str, user: IdpUser, code: AuthCode) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": code.issuer_url,
        "aud": code.client_id,
        "sub": user.sub,
        "name": user.name,
        "preferred_username": user.email,
    }
    if issuer == "microsoft":
        claims.update(oid=user.oid, tid=user.tenant, ver="2.0", xms_edov=user.email_verified)
        if user.email_verified:
            claims["email"] = user.email
    else:
        claims.update(email=user.email, email_verified=user.email_verified)
    if code.nonce:
        claims["nonce"] = code.nonce
    return timed_claims(ID_TOKEN_LIFETIME, **claims)


def signin_tokens(ident: IdentityState, keys: KeyRing, issuer: str,
                  code: AuthCode) -> dict[str, Any]:
    """The token response of a sign-in code exchange."""
    assert code.user is not None
    session = ident.new_session(code.user)
    return {
        "token_type": "Bearer",
        "scope": code.scope,
        "expires_in": IDP_ACCESS_LIFETIME,
        "access_token": session.token,
        "id_token": keys.sign(id_token_claims(issuer, code.user, code)),
    }


def userinfo(ident: IdentityState, token: str | None, issuer: str) -> dict[str, Any] | None:
    session = ident.session(token)
    if session is None or session.user.issuer != issuer:
        return None
    user = session.user
    info: dict[str, Any] = {"sub": user.sub, "name": user.name}
    if issuer == "microsoft":
        info.update(email=user.email if user.email_verified else None)
        info = {k: v for k, v in info.items() if v is not None}
    else:
        info.update(email=user.email, email_verified=user.email_verified,
                    preferred_username=user.email)
    return info


def discovery(base: str, *, issuer: str, authorize: str, token: str, userinfo_url: str,
              jwks: str, claims: list[str]) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": base + authorize,
        "token_endpoint": base + token,
        "userinfo_endpoint": base + userinfo_url,
        "jwks_uri": base + jwks,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
    }
