"""In-memory state of the identity side: OAuth clients, codes, grants, sign-in users.

Guarded by the sandbox's one lock (``SandboxState.lock``): every method here expects
the caller to hold it.  Access tokens for the provider APIs are not kept here but in
``SandboxState.tokens`` (the same table the seeded tokens live in), so the Webex,
Graph and UCWA endpoints find them the way they always found tokens.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

CODE_LIFETIME_S = 600  # authorization codes: 10 minutes, single use
WEBEX_ACCESS_LIFETIME = 1_209_600  # 14 days
WEBEX_REFRESH_LIFETIME = 7_776_000  # 90 days
MICROSOFT_ACCESS_LIFETIME = 3599
UCWA_TOKEN_LIFETIME = 28_799  # what UCWA's WebTicket service answers (8 h)
IDP_ACCESS_LIFETIME = 3600
ISSUERS = ("microsoft", "webex")


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(expected, challenge)


@dataclass
class WebexClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    access_lifetime: int = WEBEX_ACCESS_LIFETIME
    refresh_lifetime: int = WEBEX_REFRESH_LIFETIME
    rotate: bool = False
    codes_issued: int = 0
    code_exchanges: int = 0
    refreshes: int = 0
    refused_refreshes: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "redirectUris": list(self.redirect_uris),
            "accessTokenLifetime": self.access_lifetime,
            "refreshTokenLifetime": self.refresh_lifetime,
            "rotateRefreshTokens": self.rotate,
            "authorizationCodesIssued": self.codes_issued,
            "codeExchanges": self.code_exchanges,
            "refreshes": self.refreshes,
            "refusedRefreshes": self.refused_refreshes,
        }


@dataclass
class MicrosoftApp:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    access_lifetime: int = MICROSOFT_ACCESS_LIFETIME
    tokens_issued: int = 0
    consents: int = 0

    def view(self, consented: list[str]) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "redirectUris": list(self.redirect_uris),
            "accessTokenLifetime": self.access_lifetime,
            "tokensIssued": self.tokens_issued,
            "consents": self.consents,
            "consentedTenants": consented,
        }


@dataclass
class IdpUser:
    issuer: str  # microsoft | webex
    tenant: str
    email: str
    name: str
    email_verified: bool
    sub: str
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def view(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "tenant": self.tenant,
            "email": self.email,
            "name": self.name,
            "emailVerified": self.email_verified,
            "sub": self.sub,
            "oid": self.oid,
        }


@dataclass
class IdpClient:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def view(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "clientId": self.client_id,
            "redirectUris": list(self.redirect_uris),
        }


@dataclass
class UcwaAccount:
    username: str
    password: str
    org_id: str
    token_lifetime: int = UCWA_TOKEN_LIFETIME
    tokens_issued: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "orgId": self.org_id,
            "tokenLifetime": self.token_lifetime,
            "tokensIssued": self.tokens_issued,
        }


@dataclass
class AuthCode:
    """An authorization code, for a Webex integration grant or an OIDC sign-in."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    expires_at: float
    org_id: str | None = None  # Webex integration: the org the admin chose
    user: IdpUser | None = None  # sign-in: the user who signed in
    nonce: str | None = None
    issuer_url: str | None = None  # sign-in: the ``iss`` of the ID token


@dataclass
class RefreshGrant:
    """A Webex refresh token; ``grant_id`` ties it to the access tokens it produced."""

    token: str
    client_id: str
    org_id: str
    scope: str
    expires_at: float
    grant_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class IdpSession:
    """An access token from a sign-in, good for the userinfo endpoint only."""

    token: str
    user: IdpUser
    expires_at: float


@dataclass
class WebexOrg:
    org_id: str
    name: str
    partner_for: list[str]

    def view(self) -> dict[str, Any]:
        return {"orgId": self.org_id, "name": self.name, "partnerFor": list(self.partner_for)}


class IdentityState:
    def __init__(self) -> None:
        self.webex_clients: dict[str, WebexClient] = {}
        self.webex_orgs: dict[str, WebexOrg] = {}
        self.microsoft_apps: dict[str, MicrosoftApp] = {}
        self.consents: set[tuple[str, str]] = set()  # (tenant, clientId)
        self.idp_users: dict[str, IdpUser] = {}  # by sub
        self.idp_clients: dict[tuple[str, str], IdpClient] = {}  # (issuer, clientId)
        self.ucwa_accounts: dict[str, UcwaAccount] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_grants: dict[str, RefreshGrant] = {}
        self.sessions: dict[str, IdpSession] = {}
        # (endpoint, clientId, grant_type) -> [answered 200, refused]
        self.calls: collections.defaultdict[tuple[str, str, str], list[int]] = (
            collections.defaultdict(lambda: [0, 0])
        )

    # --- counters -------------------------------------------------------------

    def count(self, endpoint: str, client_id: str, grant_type: str, ok: bool) -> None:
        self.calls[(endpoint, client_id or "", grant_type or "")][0 if ok else 1] += 1

    def stats_view(self) -> dict[str, Any]:
        """Token endpoint calls per endpoint, client and grant type."""
        rows = [
            {
                "endpoint": endpoint,
                "clientId": client_id,
                "grantType": grant,
                "succeeded": ok,
                "refused": refused,
            }
            for (endpoint, client_id, grant), (ok, refused) in sorted(self.calls.items())
        ]
        return {"tokenRequests": rows}

    # --- codes and grants ------------------------------------------------------

    def new_code(self, **fields: Any) -> AuthCode:
        code = AuthCode(code=new_secret(), expires_at=time.time() + CODE_LIFETIME_S, **fields)
        self.codes[code.code] = code
        return code

    def take_code(self, code: str) -> AuthCode | None:
        """The code, removed (codes are single use); None when unknown or used."""
        return self.codes.pop(code, None)

    def new_refresh(self, client: WebexClient, org_id: str, scope: str,
                    grant_id: str | None = None) -> RefreshGrant:
        grant = RefreshGrant(
            token=new_secret("rt-"),
            client_id=client.client_id,
            org_id=org_id,
            scope=scope,
            expires_at=time.time() + client.refresh_lifetime,
        )
        if grant_id is not None:
            grant.grant_id = grant_id
        self.refresh_grants[grant.token] = grant
        return grant

    def new_session(self, user: IdpUser) -> IdpSession:
        session = IdpSession(new_secret("idp-"), user, time.time() + IDP_ACCESS_LIFETIME)
        self.sessions[session.token] = session
        return session

    def session(self, token: str | None) -> IdpSession | None:
        session = self.sessions.get(token or "")
        if session is None or time.time() >= session.expires_at:
            return None
        return session

    # --- directory ---------------------------------------------------------------

    def users_of(self, issuer: str, tenant: str | None) -> list[IdpUser]:
        """Sign-in users of an issuer, of one tenant or (None) of all."""
        return [
            u for u in self.idp_users.values()
            if u.issuer == issuer and (tenant is None or u.tenant == tenant)
        ]

    def idp_client(self, issuer: str, client_id: str | None) -> IdpClient | None:
        return self.idp_clients.get((issuer, client_id or ""))
