"""Issue 14's promises about tokens, end to end: real Celery workers (with beat) on Redis,
PostgreSQL, and the sandbox's own Webex OAuth endpoints over HTTP. The org is connected
through the authorization-code flow with PKCE (the consent page approved as a browser
would), then its tokens live only seconds."""

import time
from pathlib import Path

import pytest
from django.db.models import F

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from portal.audit import Actor, Event
from portal.connections import services
from portal.management.commands.sandbox_connect import Sandbox
from portal.models import AuditEvent, ConnectionState, Person, ProviderConnection
from tests.cast import make_org, make_user

from .convergence import assert_converged, save_all
from .harness import wait_until

pytestmark = pytest.mark.integration

REDIRECT_URI = "https://portal.example/connection/webex/callback"


def connect_through_consent(sandbox, org):
    client = Sandbox(sandbox.url)
    url, state, verifier = services.start_webex(org, redirect_uri=REDIRECT_URI)
    answer = client.approve(url, orgId=org.provider_org_id)
    assert answer["state"] == state
    services.finish_webex(org, code=answer["code"], redirect_uri=REDIRECT_URI,
                          code_verifier=verifier, actor=Actor.system("test admin"))


def oauth_org(sandbox, settings, *, people, lifetime, rate=50, org_id="oauth-org"):
    sandbox.control("POST", "webex/clients", expect=201, json={
        "clientId": settings.WEBEX_CLIENT_ID, "clientSecret": settings.WEBEX_CLIENT_SECRET,
        "redirectUris": [REDIRECT_URI], "accessTokenLifetime": lifetime,
        "rotateRefreshTokens": True})
    sandbox.control("POST", "webex/orgs", expect=201, json={"orgId": org_id})
    sandbox.control("PUT", f"ratelimits/{org_id}", expect=200, json={"perSecond": rate * 2})
    org = make_org("webex", provider_org_id=org_id, base_url=f"{sandbox.url}/webex/v1",
                   credentials={}, rate_limit_per_second=rate)
    created = Person.objects.bulk_create([
        Person(org=org, display_name=f"Token {n}", phone_number=f"+1202{600 + n // 10000}"
               f"{n % 10000:04d}", provider_person_id=f"token-{n}") for n in range(people)])
    for person in created:
        sandbox.control("POST", "webex/people", expect=201,
                        json={"orgId": org_id, "personId": person.provider_person_id})
    connect_through_consent(sandbox, org)
    return org, created


def client_counters(sandbox, settings):
    clients = sandbox.control("GET", "webex/clients", expect=200).json()
    return next(c for c in clients if c["clientId"] == settings.WEBEX_CLIENT_ID)


@pytest.fixture
def token_worker_env(worker_env, tmp_path):
    worker_env.update({
        "CONNECTION_RENEW_EVERY_SECONDS": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    })
    return worker_env


def test_a_thousand_pushes_at_50_per_second_outlive_ten_second_tokens(
        sandbox, settings, make_worker, token_worker_env):
    org, people = oauth_org(sandbox, settings, people=1000, lifetime=10)
    started = time.monotonic()
    make_worker("w1", concurrency=4, beat=True)
    make_worker("w2", concurrency=4)
    save_all(people)
    ids = [p.id for p in people]
    wait_until(lambda: not ForwardingSettings.objects.filter(person_id__in=ids).exclude(
        sync_status=SyncStatus.SYNCED, synced_version=F("version")).exists(),
        180, interval=0.5, message="every person converged")
    elapsed = time.monotonic() - started

    assert_converged(sandbox, people)
    assert not PushAttempt.objects.filter(settings__person__org=org,
                                          outcome=PushAttempt.PERMANENT).exists()
    assert not AuditEvent.objects.filter(org=org, event=Event.PUSH_FAILED).exists()
    refreshes = client_counters(sandbox, settings)["refreshes"]
    renewals = AuditEvent.objects.filter(org=org, event=Event.CONNECTION_RENEWED).count()
    lifetimes = elapsed / 10
    print(f"\n{elapsed:.1f} s, {lifetimes:.1f} token lifetimes, {refreshes} refreshes")
    # About one per lifetime (renewed at three quarters: ~1.3), not one per worker or push.
    assert lifetimes - 1 <= refreshes <= 2 * lifetimes + 2
    assert renewals == refreshes
    conn = ProviderConnection.objects.get(org=org)
    assert conn.state == ConnectionState.CONNECTED and conn.generation == refreshes + 1


def test_a_revoked_grant_makes_pushes_wait_then_reconnecting_converges_everyone(
        sandbox, settings, make_worker, token_worker_env):
    org, people = oauth_org(sandbox, settings, people=300, lifetime=600, rate=25)
    make_user("admin@oauth.example", org=org, role="admin")
    make_worker("w1", concurrency=4, beat=True)
    save_all(people)
    wait_until(lambda: ForwardingSettings.objects.filter(
        person__org=org, sync_status=SyncStatus.SYNCED).count() >= 60, 60,
        message="a fifth pushed")
    sandbox.control("POST", "webex/revoke", expect=200, json={"orgId": org.provider_org_id})

    wait_until(lambda: ProviderConnection.objects.get(org=org).state
               == ConnectionState.NEEDS_REAUTHORIZATION, 30, message="needs re-authorization")
    time.sleep(3)  # pushes keep coming to the waiting room meanwhile
    rows = ForwardingSettings.objects.filter(person__org=org)
    assert rows.filter(sync_status=SyncStatus.WAITING).count() > 0
    assert not rows.filter(sync_status=SyncStatus.FAILED).exists()
    assert not AuditEvent.objects.filter(org=org, event=Event.PUSH_FAILED).exists()
    assert set(rows.filter(sync_status=SyncStatus.WAITING).values_list(
        "sync_attempts", flat=True)) <= {0}
    assert AuditEvent.objects.filter(
        org=org, event=Event.CONNECTION_NEEDS_REAUTHORIZATION).count() == 1
    mails = [p.read_text() for p in Path(token_worker_env["EMAIL_FILE_PATH"]).glob("*")]
    about = [m for m in mails if "connection needs you" in m]
    assert len(about) == 1 and "admin@oauth.example" in about[0]

    connect_through_consent(sandbox, org)
    ids = [p.id for p in people]
    wait_until(lambda: not ForwardingSettings.objects.filter(person_id__in=ids).exclude(
        sync_status=SyncStatus.SYNCED, synced_version=F("version")).exists(),
        90, interval=0.5, message="every person converged after reconnecting")
    assert_converged(sandbox, people)
    assert not AuditEvent.objects.filter(org=org, event=Event.PUSH_FAILED).exists()
