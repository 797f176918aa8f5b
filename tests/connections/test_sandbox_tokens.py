"""Tokens against the sandbox's real endpoints, in-process (no worker): a partner's OAuth
connection pushes for a delegated customer with `orgId`, and a token the provider refuses
(expired there, not yet here) is renewed once and the push sent again."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.sync import delivery
from portal.audit import Actor, Event
from portal.connections import services
from portal.management.commands.sandbox_connect import Sandbox
from portal.models import AuditEvent, Delegation, ProviderConnection
from tests.cast import make_org, make_person, make_user, update
from tests.integration.harness import SandboxClient
from tests.sandbox.process import start_sandbox, stop_sandbox

pytestmark = pytest.mark.django_db
REDIRECT_URI = "https://portal.example/connection/webex/callback"


@pytest.fixture(scope="module")
def sandbox_url():
    url, proc = start_sandbox()
    yield url
    stop_sandbox(proc)


@pytest.fixture
def sandbox(sandbox_url, settings):
    client = SandboxClient(sandbox_url)
    client.reset()
    return client


def register_client(sandbox, settings, **fields):
    sandbox.control("POST", "webex/clients", expect=201, json={
        "clientId": settings.WEBEX_CLIENT_ID, "clientSecret": settings.WEBEX_CLIENT_SECRET,
        "redirectUris": [REDIRECT_URI], **fields})


def connect(sandbox, org):
    url, state, verifier = services.start_webex(org, redirect_uri=REDIRECT_URI)
    answer = Sandbox(sandbox.url).approve(url, orgId=org.provider_org_id)
    services.finish_webex(org, code=answer["code"], redirect_uri=REDIRECT_URI,
                          code_verifier=verifier, actor=Actor.system("test"))


def webex_org(sandbox, org_id, **kwargs):
    return make_org("webex", provider_org_id=org_id, base_url=f"{sandbox.url}/webex/v1",
                    credentials={}, **kwargs)


def pushed_now(person):
    """Run the push in this process as the queue would: at the row's due time, holding
    the rate slot a previous try reserved (resetting the due time and reserving anew on
    every try would chase a slot that moves on by one interval each time)."""
    row = ForwardingSettings.objects.get(person=person)
    slot_reserved = False
    for _ in range(50):
        row.refresh_from_db()
        if row.next_attempt_at is not None:
            time.sleep(max(0.0, (row.next_attempt_at - timezone.now()).total_seconds()))
        with mock.patch.object(delivery.outbox, "enqueue_push"):
            delivery.push(row.pk, slot_reserved=slot_reserved)
        slot_reserved = True
        row.refresh_from_db()
        if row.sync_status not in (SyncStatus.PENDING, SyncStatus.PUSHING):
            break
    return row


def test_a_partners_oauth_connection_pushes_for_its_customer_with_org_id(sandbox, settings):
    register_client(sandbox, settings)
    customer, partner = webex_org(sandbox, "cust-1"), webex_org(sandbox, "partner-1")
    sandbox.control("POST", "webex/orgs", expect=201,
                    json={"orgId": "partner-1", "partnerFor": ["cust-1"]})
    connect(sandbox, partner)
    Delegation.objects.create(customer=customer, partner=partner)
    person = make_person(customer, provider_person_id="cust-person")
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": "cust-1", "personId": "cust-person"})
    admin = make_user(org=partner, role="admin")
    with mock.patch.object(delivery.outbox, "enqueue_push"):
        update(person, actor=Actor.for_user(admin, via_partner=partner),
               always_enabled=True, always_destination="+12025550123")

    row = pushed_now(person)
    assert row.sync_status == SyncStatus.SYNCED, row.last_error
    puts = [r for r in sandbox.requests("cust-person") if r["method"] == "PUT"]
    assert [(r["status"], r["query"].get("orgId")) for r in puts] == [(204, "cust-1")]
    assert not ProviderConnection.objects.filter(org=customer).exists()


def test_a_token_refused_by_the_provider_is_renewed_once_and_the_push_sent_again(
        sandbox, settings):
    register_client(sandbox, settings, accessTokenLifetime=1)
    org = webex_org(sandbox, "expiring-1")
    sandbox.control("POST", "webex/orgs", expect=201, json={"orgId": "expiring-1"})
    connect(sandbox, org)
    # The portal believes its token is good for an hour; the provider let it lapse.
    ProviderConnection.objects.filter(org=org).update(
        access_expires_at=timezone.now() + timedelta(hours=1))
    time.sleep(1.2)
    person = make_person(org, provider_person_id="exp-person")
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": "expiring-1", "personId": "exp-person"})
    with mock.patch.object(delivery.outbox, "enqueue_push"):
        update(person, always_enabled=True, always_destination="+12025550124")

    row = pushed_now(person)
    assert row.sync_status == SyncStatus.SYNCED, row.last_error
    statuses = [r["status"] for r in sandbox.requests("exp-person") if r["method"] == "PUT"]
    assert statuses == [401, 204]
    clients = sandbox.control("GET", "webex/clients", expect=200).json()
    assert clients[0]["refreshes"] == 1
    assert AuditEvent.objects.filter(org=org, event=Event.CONNECTION_RENEWED).count() == 1
    attempt = PushAttempt.objects.get(settings=row)
    assert attempt.outcome == PushAttempt.SUCCEEDED and row.sync_attempts == 0
