"""Token endpoints of the providers: how the portal gets and renews access tokens.

The OAuth 2 mechanics (PKCE, the authorization URL, grant bodies, client authentication)
are authlib's; this module only knows each provider's endpoint paths and error shapes,
and turns every outcome into a `TokenSet` or a `TokenError` that says whether a person
must act (re-authorize) or a later retry can help.

- Webex integration: `GET {base}/authorize`, `POST {base}/access_token` (authorization
  code with PKCE S256, then refresh_token; client credentials in the body).
- Microsoft Graph app token: `POST {login}/{tenant}/oauth2/v2.0/token`, client
  credentials, scope `https://graph.microsoft.com/.default`; admin consent first at
  `GET {login}/{tenant}/adminconsent`.
- UCWA: the deployment's token endpoint (`.../WebTicket/oauthtoken`), password grant with
  the service account.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MICROSOFT_LOGIN_URL = "https://login.microsoftonline.com"
# Scopes the portal asks a Webex org admin for: read people, write their call forwarding
# (seed 001), and the telephony configuration of issue 16.
WEBEX_SCOPES = (
    "spark-admin:people_read",
    "spark-admin:people_write",
    "spark-admin:telephony_config_read",
    "spark-admin:telephony_config_write",
)
TOKEN_TIMEOUT = 15.0
# OAuth error codes after which only a person can restore the grant.
_NEEDS_PERSON = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied",
                 "invalid_scope", "consent_required", "interaction_required"}


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_in: int | None = None
    refresh_token: str = ""
    refresh_token_expires_in: int | None = None
    scope: str = ""


class TokenError(Exception):
    """A token endpoint refused or could not be reached.

    needs_reauthorization: the grant is gone (revoked, expired, wrong secret, consent
    withdrawn): only an admin going through the connect flow again can restore it.
    Otherwise the failure is transient (network, 5xx, 429) and a later retry may work."""

    def __init__(self, message: str, *, needs_reauthorization: bool, status_code=None):
        super().__init__(message)
        self.message = message
        self.needs_reauthorization = needs_reauthorization
        self.status_code = status_code


def new_pkce_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43 to 128 unreserved characters)."""
    return generate_token(64)


def new_state() -> str:
    return generate_token(32)


def _session(client_id, client_secret="", **kwargs) -> OAuth2Session:
    return OAuth2Session(client_id=client_id, client_secret=client_secret,
                         token_endpoint_auth_method="client_secret_post",  # noqa: S106
                         **kwargs)


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _token_set(token: dict, provider: str) -> TokenSet:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        # A 4xx body without an OAuth "error" field (e.g. Webex's {"message": ...}).
        message = token.get("message") or token.get("error_description") or ""
        raise TokenError(
            f"{provider} did not issue a token"
            + (f": {message}" if isinstance(message, str) and message else "."),
            needs_reauthorization=True)
    refresh = token.get("refresh_token")
    return TokenSet(
        access_token=access,
        expires_in=_as_int(token.get("expires_in")),
        refresh_token=refresh if isinstance(refresh, str) else "",
        refresh_token_expires_in=_as_int(token.get("refresh_token_expires_in")),
        scope=token.get("scope") if isinstance(token.get("scope"), str) else "",
    )


def _call(provider: str, fetch) -> TokenSet:
    """Run one token request; every way it can go wrong becomes a TokenError."""
    try:
        return _token_set(fetch(), provider)
    except OAuthError as exc:
        description = exc.description if isinstance(exc.description, str) else ""
        words = f"{provider} refused the token request ({exc.error})"
        raise TokenError(words + (f": {description}" if description else "."),
                         needs_reauthorization=exc.error in _NEEDS_PERSON) from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        permanent = status in (400, 401, 403)
        raise TokenError(f"{provider}'s token endpoint answered HTTP {status}.",
                         needs_reauthorization=permanent, status_code=status) from exc
    except (requests.RequestException, ValueError) as exc:
        raise TokenError(f"{provider}'s token endpoint could not be reached "
                         f"({type(exc).__name__}).", needs_reauthorization=False) from exc


# --- Webex integration ---------------------------------------------------------------------


def webex_authorization_url(base_url: str, *, client_id: str, redirect_uri: str, state: str,
                            code_verifier: str, scopes=WEBEX_SCOPES) -> str:
    session = _session(client_id, scope=" ".join(scopes), redirect_uri=redirect_uri,
                       code_challenge_method="S256")
    url, _ = session.create_authorization_url(f"{base_url.rstrip('/')}/authorize",
                                              state=state, code_verifier=code_verifier)
    return url


def webex_exchange_code(base_url: str, *, client_id: str, client_secret: str, code: str,
                        redirect_uri: str, code_verifier: str) -> TokenSet:
    session = _session(client_id, client_secret, redirect_uri=redirect_uri)
    return _call("Webex", lambda: session.fetch_token(
        f"{base_url.rstrip('/')}/access_token", grant_type="authorization_code", code=code,
        code_verifier=code_verifier, timeout=TOKEN_TIMEOUT))


def webex_refresh(base_url: str, *, client_id: str, client_secret: str,
                  refresh_token: str) -> TokenSet:
    session = _session(client_id, client_secret)
    return _call("Webex", lambda: session.refresh_token(
        f"{base_url.rstrip('/')}/access_token", refresh_token=refresh_token,
        timeout=TOKEN_TIMEOUT))


# --- Microsoft Graph app token ---------------------------------------------------------------


def microsoft_admin_consent_url(login_url: str, *, tenant: str, client_id: str,
                                redirect_uri: str, state: str) -> str:
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{login_url.rstrip('/')}/{tenant}/adminconsent?{query}"


def graph_app_token(login_url: str, *, tenant: str, client_id: str,
                    client_secret: str) -> TokenSet:
    session = _session(client_id, client_secret, scope=GRAPH_SCOPE)
    return _call("Microsoft", lambda: session.fetch_token(
        f"{login_url.rstrip('/')}/{tenant}/oauth2/v2.0/token",
        grant_type="client_credentials", timeout=TOKEN_TIMEOUT))


# --- UCWA ------------------------------------------------------------------------------------


def ucwa_password_token(token_url: str, *, username: str, password: str) -> TokenSet:
    session = OAuth2Session(token_endpoint_auth_method="none")  # noqa: S106
    return _call("UCWA", lambda: session.fetch_token(
        token_url, grant_type="password", username=username, password=password,
        timeout=TOKEN_TIMEOUT))
