"""Connecting an organization to its provider, and disconnecting it.

Views run the browser side of each flow (redirects, the session's state and PKCE
verifier); these functions do the token calls and the writes: the connection row, its
audit row, and the `connection_restored` signal that lets waiting pushes go.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import audit
from portal.audit import Event
from portal.connections import tokens
from portal.models import ConnectionMethod, ConnectionState, ProviderConnection
from portal.provider_urls import connection_base_url
from providers import oauth

WEBEX_DEFAULT_BASE_URL = "https://webexapis.com/v1"


class ConnectError(Exception):
    """A connect flow could not finish; `message` is for the admin's page."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def webex_base_url(org) -> str:
    return connection_base_url(org.provider_kind, org.base_url or WEBEX_DEFAULT_BASE_URL)


def start_webex(org, *, redirect_uri: str) -> tuple[str, str, str]:
    """(authorization URL, state, PKCE verifier): the view keeps state and verifier in
    the admin's session and sends the browser to the URL."""
    if not settings.WEBEX_CLIENT_ID:
        raise ConnectError("This portal has no Webex integration configured "
                           "(WEBEX_CLIENT_ID); ask its operators.")
    state, verifier = oauth.new_state(), oauth.new_pkce_verifier()
    url = oauth.webex_authorization_url(
        webex_base_url(org), client_id=settings.WEBEX_CLIENT_ID, redirect_uri=redirect_uri,
        state=state, code_verifier=verifier)
    return url, state, verifier


def finish_webex(org, *, code: str, redirect_uri: str, code_verifier: str, actor):
    try:
        token_set = oauth.webex_exchange_code(
            webex_base_url(org), client_id=settings.WEBEX_CLIENT_ID,
            client_secret=settings.WEBEX_CLIENT_SECRET, code=code, redirect_uri=redirect_uri,
            code_verifier=code_verifier)
    except oauth.TokenError as exc:
        raise ConnectError(exc.message) from exc
    return _connected(org, token_set, actor=actor, method=ConnectionMethod.OAUTH_CODE,
                      client_id=settings.WEBEX_CLIENT_ID)


def microsoft_consent_url(org, *, tenant: str, redirect_uri: str, state: str) -> str:
    if not settings.MICROSOFT_CLIENT_ID:
        raise ConnectError("This portal has no Microsoft app configured "
                           "(MICROSOFT_CLIENT_ID); ask its operators.")
    return oauth.microsoft_admin_consent_url(
        settings.MICROSOFT_LOGIN_URL, tenant=tenant or org.provider_org_id or "organizations",
        client_id=settings.MICROSOFT_CLIENT_ID, redirect_uri=redirect_uri, state=state)


def finish_microsoft(org, *, tenant: str, actor):
    """After admin consent: the first app token proves the consent and the secret work."""
    tenant = tenant or org.provider_org_id
    if not tenant:
        raise ConnectError("Microsoft did not say which tenant consented.")
    if org.provider_org_id and tenant != org.provider_org_id:
        raise ConnectError(f"Consent came from tenant {tenant}, but this organization is "
                           f"tenant {org.provider_org_id}. Sign in as an admin of the "
                           "right tenant and try again.")
    try:
        token_set = oauth.graph_app_token(
            settings.MICROSOFT_LOGIN_URL, tenant=tenant, client_id=settings.MICROSOFT_CLIENT_ID,
            client_secret=settings.MICROSOFT_CLIENT_SECRET)
    except oauth.TokenError as exc:
        raise ConnectError(exc.message) from exc
    return _connected(org, token_set, actor=actor, method=ConnectionMethod.CLIENT_CREDENTIALS,
                      client_id=settings.MICROSOFT_CLIENT_ID, tenant=tenant)


def connect_ucwa(org, *, token_url: str, username: str, password: str, actor):
    try:
        token_set = oauth.ucwa_password_token(
            connection_base_url(org.provider_kind, token_url), username=username,
            password=password)
    except oauth.TokenError as exc:
        raise ConnectError(exc.message) from exc
    return _connected(org, token_set, actor=actor, method=ConnectionMethod.PASSWORD,
                      username=username, token_url=token_url, secrets={"password": password})


def connect_static(org, *, token: str, expires_in: int | None = None, actor):
    """A token pasted by staff (development, or a provider without a token endpoint)."""
    return _connected(org, oauth.TokenSet(access_token=token, expires_in=expires_in),
                      actor=actor, method=ConnectionMethod.STATIC_TOKEN)


def _connected(org, token_set, *, actor, method, secrets=None, **fields):
    with transaction.atomic():
        conn, _ = ProviderConnection.objects.select_for_update().get_or_create(
            org=org, defaults={"method": method})
        conn.method = method
        conn.client_id = fields.get("client_id", "")
        conn.tenant = fields.get("tenant", "")
        conn.username = fields.get("username", "")
        conn.token_url = fields.get("token_url", "")
        conn.secrets = dict(secrets or {})
        conn.scopes = ""
        conn.refresh_expires_at = None
        # Stored as down until store_tokens, so that it announces the restoration.
        conn.state = ConnectionState.DISCONNECTED
        conn.save()
        tokens.store_tokens(conn, token_set, actor=actor, event=Event.CONNECTION_CONNECTED,
                            extra={"connected_by": actor.user, "connected_at": timezone.now(),
                                   "reauthorization_notified_at": None})
    return conn


def disconnect(org, *, actor) -> bool:
    """Forget the org's tokens. Pushes then wait until someone connects again."""
    with transaction.atomic():
        conn = ProviderConnection.objects.select_for_update().filter(org=org).first()
        if conn is None or conn.state == ConnectionState.DISCONNECTED:
            return False
        conn.state = ConnectionState.DISCONNECTED
        conn.secrets = {}
        conn.access_expires_at = conn.refresh_expires_at = None
        conn.save()
        audit.record(event=Event.CONNECTION_DISCONNECTED, actor=actor, org=org,
                     data={"method": conn.method})
    return True

