"""Keeping an organization's access token alive, for every process at once.

The token lives (encrypted) on the org's ProviderConnection row, so a renewal by one
worker is seen by all web processes and workers on their next read. Renewals are single
flight across processes: a Redis lock per connection lets one process call the provider's
token endpoint while the others wait for it and then read the new token (the row's
`generation` tells them it changed). Beat renews tokens ahead of expiry
(`renew_due`), so the Graph bot's hot path only reads; a push renews inline only when the
stored token has already expired, and once after a provider's 401.

When no token can be had, `ConnectionUnavailable` says whether a person must act
(re-authorize: the admins get one email and a banner) or a later retry may work.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal import audit
from portal.audit import Event
from portal.connections import notices
from portal.models import ConnectionMethod, ConnectionState, ProviderConnection
from portal.provider_urls import connection_base_url
from providers import oauth

log = logging.getLogger(__name__)
LOCK_SECONDS = 60  # a renewal holding the lock longer than this has died
# After a transient failure (network, 5xx), renewals of that connection pause this long,
# so that a thousand waiting pushes do not each knock on the token endpoint.
TRANSIENT_PAUSE_SECONDS = 10


class ConnectionUnavailable(Exception):
    """No valid token for the org now. needs_person: only an admin can fix it."""

    def __init__(self, message: str, *, needs_person: bool):
        super().__init__(message)
        self.message = message
        self.needs_person = needs_person


def connection_of(org) -> ProviderConnection | None:
    try:
        return org.connection
    except ProviderConnection.DoesNotExist:
        return None


def token_for(org) -> str:
    """The access token to send for `org` now, renewing it first if it has expired.

    An org without a connection row uses the static token staff set in its credentials
    (development and tests; `make run` connects through the real flows)."""
    conn = connection_of(org)
    if conn is None:
        return org.credentials.get("token", "")
    if conn.usable:
        return conn.access_token
    if conn.state != ConnectionState.CONNECTED:
        raise ConnectionUnavailable(unavailable_sentence(conn), needs_person=True)
    return renew(conn, seen_generation=conn.generation)


def renew_after_refusal(org, refused_token: str) -> str:
    """The provider answered 401 to `refused_token`: the token to retry with, once."""
    conn = connection_of(org)
    if conn is None:
        raise ConnectionUnavailable(
            "The provider refused the organization's static token.", needs_person=True)
    conn.refresh_from_db()
    if conn.usable and conn.access_token != refused_token:
        return conn.access_token  # another process renewed it meanwhile
    if conn.state != ConnectionState.CONNECTED:
        raise ConnectionUnavailable(unavailable_sentence(conn), needs_person=True)
    return renew(conn, seen_generation=conn.generation, force=True)


def unavailable_sentence(conn) -> str:
    provider = conn.org.capabilities.label
    if conn.state == ConnectionState.NEEDS_REAUTHORIZATION:
        return f"Waiting for the {provider} connection: an admin must re-authorize it."
    return f"Waiting for the {provider} connection: it is not connected."


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def renew(conn, *, seen_generation: int, force: bool = False) -> str:
    """Get a new access token for `conn` from its provider, unless another process did
    since the caller read generation `seen_generation`. Single flight across processes."""
    client = _redis()
    if client.exists(f"connection-renewal-paused:{conn.pk}"):
        raise ConnectionUnavailable(
            f"Waiting for the {conn.org.capabilities.label} connection: its token endpoint "
            "did not answer; retrying shortly.", needs_person=False)
    lock = client.lock(f"connection-renewal:{conn.pk}", timeout=LOCK_SECONDS,
                       blocking_timeout=settings.CONNECTION_RENEW_WAIT_SECONDS)
    if not lock.acquire():
        raise ConnectionUnavailable("Another process is still renewing the connection's "
                                    "token.", needs_person=False)
    try:
        current = ProviderConnection.objects.select_related("org").get(pk=conn.pk)
        if current.generation != seen_generation and current.usable:
            return current.access_token
        if current.state != ConnectionState.CONNECTED:
            raise ConnectionUnavailable(unavailable_sentence(current), needs_person=True)
        if not force and current.usable and not renewal_due(current):
            return current.access_token
        try:
            tokens = ask_provider(current)
        except oauth.TokenError as exc:
            _renewal_failed(current, exc, client)
            raise ConnectionUnavailable(
                unavailable_sentence(current) if exc.needs_reauthorization else exc.message,
                needs_person=exc.needs_reauthorization) from exc
        store_tokens(current, tokens, actor=audit.Actor.system("token renewal"),
                     event=Event.CONNECTION_RENEWED)
        return tokens.access_token
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("renewal lock of connection %s expired before release", conn.pk)


def renewal_due(conn, now=None) -> bool:
    """Whether `conn`'s access token should be renewed now: in the last quarter of its
    lifetime (CONNECTION_RENEW_FRACTION), and at least CONNECTION_RENEW_MIN_SECONDS ahead
    for lifetimes long enough to afford it. Renewing at three quarters makes about 1.3
    renewals per lifetime, whatever the lifetime (Graph's vary from 60 to 90 minutes)."""
    if conn.access_expires_at is None or conn.method == ConnectionMethod.STATIC_TOKEN:
        return False
    now = now or timezone.now()
    issued = conn.last_refresh_at or conn.connected_at or now
    lifetime = max((conn.access_expires_at - issued).total_seconds(), 1.0)
    margin = lifetime * settings.CONNECTION_RENEW_FRACTION
    if lifetime >= 4 * settings.CONNECTION_RENEW_MIN_SECONDS:
        margin = max(margin, settings.CONNECTION_RENEW_MIN_SECONDS)
    return (conn.access_expires_at - now).total_seconds() <= margin


def client_secret(conn) -> str:
    """The connection's own app secret, else the deployment's registration."""
    if conn.secrets.get("client_secret"):
        return conn.secrets["client_secret"]
    if conn.method == ConnectionMethod.OAUTH_CODE:
        return settings.WEBEX_CLIENT_SECRET
    return settings.MICROSOFT_CLIENT_SECRET


def ask_provider(conn) -> oauth.TokenSet:
    """One call to the provider's token endpoint for a fresh access token."""
    org = conn.org
    if conn.method == ConnectionMethod.OAUTH_CODE:
        refresh = conn.secrets.get("refresh_token", "")
        if not refresh:
            raise oauth.TokenError("No refresh token is stored.", needs_reauthorization=True)
        return oauth.webex_refresh(connection_base_url(org.provider_kind, org.base_url),
                                   client_id=conn.client_id, client_secret=client_secret(conn),
                                   refresh_token=refresh)
    if conn.method == ConnectionMethod.CLIENT_CREDENTIALS:
        return oauth.graph_app_token(settings.MICROSOFT_LOGIN_URL,
                                     tenant=conn.tenant or org.provider_org_id,
                                     client_id=conn.client_id, client_secret=client_secret(conn))
    if conn.method == ConnectionMethod.PASSWORD:
        return oauth.ucwa_password_token(connection_base_url(org.provider_kind, conn.token_url),
                                         username=conn.username,
                                         password=conn.secrets.get("password", ""))
    raise oauth.TokenError("A static token cannot be renewed; connect the organization.",
                           needs_reauthorization=True)


def store_tokens(conn, tokens: oauth.TokenSet, *, actor, event, extra=None) -> None:
    """Save a new access (and, when it rotated, refresh) token in one row write, bump the
    generation, and write the audit row, in one transaction."""
    now = timezone.now()
    secrets = dict(conn.secrets, access_token=tokens.access_token)
    rotated = bool(tokens.refresh_token) and tokens.refresh_token != secrets.get(
        "refresh_token")
    if tokens.refresh_token:
        secrets["refresh_token"] = tokens.refresh_token
    fields = {
        "secrets": secrets, "generation": F("generation") + 1, "last_refresh_at": now,
        "state": ConnectionState.CONNECTED, "last_error": "", "last_error_at": None,
        "access_expires_at": (now + timedelta(seconds=tokens.expires_in)
                              if tokens.expires_in else None),
    }
    if tokens.refresh_token_expires_in:
        fields["refresh_expires_at"] = now + timedelta(seconds=tokens.refresh_token_expires_in)
    if tokens.scope:
        fields["scopes"] = tokens.scope
    was_down = conn.state != ConnectionState.CONNECTED or conn.last_error_at is not None
    with transaction.atomic():
        ProviderConnection.objects.filter(pk=conn.pk).update(**fields, **(extra or {}))
        notices.count_hour(conn.org_id, token_renewals=1)
        audit.record(event=event, actor=actor, org=conn.org,
                     data={"expires_in": tokens.expires_in, "refresh_token_rotated": rotated,
                           "scopes": tokens.scope or conn.scopes})
        if was_down:
            notices.restored_on_commit(conn.org)
    conn.refresh_from_db()


def _renewal_failed(conn, exc: oauth.TokenError, client) -> None:
    now = timezone.now()
    if not exc.needs_reauthorization:
        client.set(f"connection-renewal-paused:{conn.pk}", 1, ex=TRANSIENT_PAUSE_SECONDS)
        with transaction.atomic():
            ProviderConnection.objects.filter(pk=conn.pk).update(
                last_error=exc.message[:2000], last_error_at=now)
            audit.record(event=Event.CONNECTION_RENEWAL_FAILED,
                         actor=audit.Actor.system("token renewal"), org=conn.org,
                         data={"reason": exc.message})
        return
    notices.needs_reauthorization(conn, exc.message)


def renew_due(now=None) -> int:
    """Renew every connected token that is due (beat). Returns how many were renewed."""
    now = now or timezone.now()
    renewed = 0
    candidates = (ProviderConnection.objects.select_related("org")
                  .filter(state=ConnectionState.CONNECTED, access_expires_at__isnull=False)
                  .exclude(method=ConnectionMethod.STATIC_TOKEN))
    for conn in candidates:
        if not renewal_due(conn, now):
            continue
        try:
            renew(conn, seen_generation=conn.generation)
            renewed += 1
        except ConnectionUnavailable as exc:
            log.info("connection of org %s not renewed: %s", conn.org_id, exc.message)
    return renewed
