"""The token lifecycle of portal.connections: renewal single flight across threads (each
with its own database connection, as separate workers have), rotation stored with the
access token, needs-reauthorization with one email per outage, transient pauses, and the
push pipeline waiting (not failing) while a connection is unavailable.

The provider's token endpoint is the one seam replaced here (providers.oauth); the same
flows run against the sandbox's real endpoints in tests/connections/test_sandbox_flows.py.
"""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.utils import timezone

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.sync import delivery
from portal.audit import Actor, Event
from portal.connections import services, tokens
from portal.models import AuditEvent, ConnectionMethod, ConnectionState, ProviderConnection
from providers import oauth
from tests.cast import make_org, make_person, make_user, update


@pytest.fixture(autouse=True)
def _no_renewal_keys():
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("connection-renewal*"):
        client.delete(key)
    yield


def webex_connection(org, *, expires_in_s=-1, refresh="refresh-1", state=ConnectionState.CONNECTED):
    now = timezone.now()
    return ProviderConnection.objects.create(
        org=org, method=ConnectionMethod.OAUTH_CODE, state=state, client_id="portal-app",
        secrets={"access_token": "old-access", "refresh_token": refresh,
                 "client_secret": "s3cret"},
        access_expires_at=now + timedelta(seconds=expires_in_s),
        last_refresh_at=now - timedelta(seconds=3600), generation=1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_readers_of_an_expired_token_cause_one_renewal():
    org = make_org("webex")
    conn = webex_connection(org)
    calls = []

    def refresh(base_url, **kwargs):
        calls.append(kwargs["refresh_token"])
        time.sleep(0.3)  # long enough for every other thread to arrive meanwhile
        return oauth.TokenSet(access_token=f"new-access-{len(calls)}", expires_in=3600,
                              refresh_token="refresh-1", refresh_token_expires_in=7776000)

    seen, errors = [], []

    def reader():
        from django.db import connections

        try:
            fresh_org = type(org).objects.get(pk=org.pk)
            seen.append(tokens.token_for(fresh_org))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(oauth, "webex_refresh", side_effect=refresh):
        threads = [threading.Thread(target=reader) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert calls == ["refresh-1"]
    assert seen == ["new-access-1"] * 8
    conn.refresh_from_db()
    assert conn.generation == 2 and conn.access_token == "new-access-1"
    assert AuditEvent.objects.filter(event=Event.CONNECTION_RENEWED, org=org).count() == 1


@pytest.mark.django_db
def test_a_rotated_refresh_token_is_saved_with_its_access_token():
    org = make_org("webex")
    conn = webex_connection(org)
    rotated = oauth.TokenSet(access_token="a2", expires_in=1209600, refresh_token="refresh-2",
                             refresh_token_expires_in=7776000, scope="spark-admin:people_read")
    with mock.patch.object(oauth, "webex_refresh", return_value=rotated) as refresh:
        assert tokens.token_for(org) == "a2"
    assert refresh.call_args.kwargs["refresh_token"] == "refresh-1"
    assert refresh.call_args.kwargs["client_secret"] == "s3cret"
    conn.refresh_from_db()
    assert conn.secrets["refresh_token"] == "refresh-2"
    assert conn.secrets["access_token"] == "a2"
    assert conn.scopes == "spark-admin:people_read"
    assert conn.refresh_expires_at > timezone.now() + timedelta(days=89)
    row = AuditEvent.objects.get(event=Event.CONNECTION_RENEWED, org=org)
    assert row.data["refresh_token_rotated"] is True
    assert "refresh-2" not in str(row.data) and "a2" not in str(row.data.values())


@pytest.mark.django_db
def test_a_refused_refresh_needs_reauthorization_and_mails_the_admins_once(
        django_capture_on_commit_callbacks):
    org = make_org("webex")
    make_user("boss@example.com", org=org, role="admin")
    make_user("member@example.com", org=org, role="member")
    conn = webex_connection(org)
    refused = oauth.TokenError("Webex refused the token request (invalid_grant).",
                               needs_reauthorization=True)
    with mock.patch.object(oauth, "webex_refresh", side_effect=refused) as refresh, \
            pytest.raises(tokens.ConnectionUnavailable) as first, \
            django_capture_on_commit_callbacks(execute=True):
        tokens.token_for(org)
    assert first.value.needs_person
    # Later pushes do not knock on the token endpoint again, and nobody is mailed twice.
    org = type(org).objects.get(pk=org.pk)
    with mock.patch.object(oauth, "webex_refresh", side_effect=refused) as again, \
            pytest.raises(tokens.ConnectionUnavailable):
        tokens.token_for(org)
    assert refresh.call_count == 1 and again.call_count == 0
    conn.refresh_from_db()
    assert conn.state == ConnectionState.NEEDS_REAUTHORIZATION
    assert "invalid_grant" in conn.last_error
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    assert "Connection page" in mail.outbox[0].body
    assert AuditEvent.objects.filter(event=Event.CONNECTION_NEEDS_REAUTHORIZATION,
                                     org=org).count() == 1


@pytest.mark.django_db
def test_a_transient_failure_pauses_renewals_without_asking_a_person():
    org = make_org("webex")
    conn = webex_connection(org)
    down = oauth.TokenError("Webex's token endpoint answered HTTP 503.",
                            needs_reauthorization=False, status_code=503)
    with mock.patch.object(oauth, "webex_refresh", side_effect=down) as refresh:
        for _ in range(3):
            with pytest.raises(tokens.ConnectionUnavailable) as caught:
                tokens.token_for(type(org).objects.get(pk=org.pk))
            assert not caught.value.needs_person
    assert refresh.call_count == 1  # the pause holds the other two back
    conn.refresh_from_db()
    assert conn.state == ConnectionState.CONNECTED and "503" in conn.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_renewal_is_due_in_the_last_quarter_of_a_lifetime():
    org = make_org("webex")
    now = timezone.now()
    conn = ProviderConnection(org=org, method=ConnectionMethod.CLIENT_CREDENTIALS,
                              state=ConnectionState.CONNECTED, last_refresh_at=now,
                              access_expires_at=now + timedelta(seconds=4000))
    assert not tokens.renewal_due(conn, now + timedelta(seconds=2900))
    assert tokens.renewal_due(conn, now + timedelta(seconds=3001))
    conn.access_expires_at = now + timedelta(seconds=10)  # a 10-second sandbox token
    assert not tokens.renewal_due(conn, now + timedelta(seconds=7))
    assert tokens.renewal_due(conn, now + timedelta(seconds=7.6))


@pytest.mark.django_db
def test_a_push_waits_for_the_connection_and_goes_out_once_it_is_restored(
        django_capture_on_commit_callbacks):
    org = make_org("webex")
    webex_connection(org, state=ConnectionState.NEEDS_REAUTHORIZATION)
    person = make_person(org)
    update(person, always_enabled=True, always_destination="+12025550111")
    row = ForwardingSettings.objects.get(person=person)
    ForwardingSettings.objects.filter(pk=row.pk).update(next_attempt_at=None)

    assert delivery.push(row.pk) is None
    row.refresh_from_db()
    assert row.sync_status == SyncStatus.WAITING
    assert row.sync_attempts == 0
    assert "re-authorize" in row.last_error
    assert not PushAttempt.objects.filter(settings=row).exists()

    admin = make_user(org=org, role="admin")
    with mock.patch.object(delivery.outbox, "enqueue_push") as enqueue, \
            mock.patch.object(oauth, "webex_exchange_code",
                              return_value=oauth.TokenSet("fresh", 1209600, "r", 7776000)):
        with django_capture_on_commit_callbacks(execute=True):
            services.finish_webex(org, code="c", redirect_uri="https://portal/cb",
                                  code_verifier="v", actor=Actor.for_user(admin))
    row.refresh_from_db()
    assert row.sync_status == SyncStatus.PENDING
    enqueue.assert_called_once_with(row.pk, queue="bulk")
    assert ProviderConnection.objects.get(org=org).state == ConnectionState.CONNECTED

