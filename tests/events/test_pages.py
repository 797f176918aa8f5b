"""The Events pages: adding an endpoint (the secret shown once), refusals next to the
field, rotate, enable/disable, test event, remove, deliveries with their attempts, and
who may use them (the matrix in tests/security has every role)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit import Event
from portal.events import delivery
from portal.models import (
    AuditEvent,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
    Membership,
)
from tests.cast import make_user

from .conftest import received

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, acme):
    org, user = acme
    client.force_login(user)
    return org


def text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def add(client, org, **data):
    return client.post(reverse("org_events", args=[org.id]), data)


def test_adding_an_endpoint_shows_its_secret_once(client, admin, sandbox):
    url = f"{sandbox.url}/events/pages"
    response = add(client, admin, url=url, description="SIEM",
                   event_types=["forwarding.updated", "push.failed"])
    assert response.status_code == 200
    secret = re.search(r'>(whsec_[^<]+)</textarea>', response.content.decode())[1]
    endpoint = EventEndpoint.objects.get()
    assert endpoint.secrets["current"] == secret
    assert endpoint.event_types == ["forwarding.updated", "push.failed"]
    assert "not shown again" in response.content.decode()
    # Never again: neither the list nor the endpoint's page shows it.
    for page in (reverse("org_events", args=[admin.id]),
                 reverse("event_endpoint", args=[admin.id, endpoint.id])):
        assert secret not in client.get(page).content.decode()
    row = AuditEvent.objects.get(event=Event.EVENT_ENDPOINT_CREATED)
    assert row.new["url"] == url and secret not in str(row.new)


def test_a_refused_url_is_explained_next_to_the_field_and_nothing_is_saved(client, admin,
                                                                          settings):
    settings.EVENTS_ALLOW_INSECURE_URLS = False
    response = add(client, admin, url="https://10.0.0.8/hook")
    assert response.status_code == 400
    assert "10.0.0.8 resolves to 10.0.0.8: a private address" in text(
        response.content.decode())
    response = add(client, admin, url="http://hooks.example.com/")
    assert "Use an https:// URL" in response.content.decode()
    assert not EventEndpoint.objects.exists()
    assert not AuditEvent.objects.exists()


def test_unknown_event_types_are_refused(client, admin, sandbox):
    response = add(client, admin, url=f"{sandbox.url}/events/x", event_types=["nope"])
    assert response.status_code == 400
    assert not EventEndpoint.objects.exists()


def test_the_test_button_queues_a_test_event_that_the_receiver_gets(
        client, admin, sandbox, django_capture_on_commit_callbacks):
    add(client, admin, url=f"{sandbox.url}/events/button")
    endpoint = EventEndpoint.objects.get()
    response = client.post(reverse("event_endpoint_test", args=[admin.id, endpoint.id]))
    assert response.status_code == 302
    d = EventDelivery.objects.get()
    assert d.event.type == "test"
    delivery.attempt(d.pk)  # what the worker does with the queued task
    [got] = received(sandbox, "button")
    assert got["json"]["type"] == "test"
    page = client.get(reverse("event_endpoint", args=[admin.id, endpoint.id]))
    html = text(page.content.decode())
    assert "Delivered" in html and "HTTP 200" in html and d.event.message_id in html
    assert AuditEvent.objects.filter(event=Event.EVENT_ENDPOINT_TESTED).count() == 1


def test_rotating_shows_a_new_secret_and_keeps_the_old_one_for_a_day(client, admin, sandbox):
    add(client, admin, url=f"{sandbox.url}/events/rot")
    endpoint = EventEndpoint.objects.get()
    old = endpoint.secrets["current"]
    response = client.post(reverse("event_endpoint_rotate", args=[admin.id, endpoint.id]))
    new = re.search(r'>(whsec_[^<]+)</textarea>', response.content.decode())[1]
    endpoint.refresh_from_db()
    assert new != old and delivery.signing_secrets(endpoint) == [new, old]


def test_disable_then_enable(client, admin, sandbox):
    add(client, admin, url=f"{sandbox.url}/events/onoff")
    endpoint = EventEndpoint.objects.get()
    client.post(reverse("event_endpoint_enable", args=[admin.id, endpoint.id]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    response = client.post(reverse("event_endpoint_test", args=[admin.id, endpoint.id]),
                           follow=True)
    assert "Enable the endpoint" in response.content.decode()
    assert not EventDelivery.objects.exists()
    client.post(reverse("event_endpoint_enable", args=[admin.id, endpoint.id]),
                {"enabled": "on"})
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 0
    codes = list(AuditEvent.objects.order_by("id").values_list("event", flat=True))
    assert codes[-2:] == [Event.EVENT_ENDPOINT_DISABLED, Event.EVENT_ENDPOINT_ENABLED]


def test_remove(client, admin, sandbox):
    add(client, admin, url=f"{sandbox.url}/events/gone")
    endpoint = EventEndpoint.objects.get()
    client.post(reverse("event_endpoint_delete", args=[admin.id, endpoint.id]))
    assert not EventEndpoint.objects.exists()
    assert AuditEvent.objects.filter(event=Event.EVENT_ENDPOINT_DELETED).count() == 1


def test_the_endpoint_page_reads_deliveries_in_a_fixed_number_of_queries(client, admin,
                                                                         sandbox):
    add(client, admin, url=f"{sandbox.url}/events/many")
    endpoint = EventEndpoint.objects.get()
    for _ in range(5):
        client.post(reverse("event_endpoint_test", args=[admin.id, endpoint.id]))
    EventDelivery.objects.update(status=DeliveryStatus.FAILED, attempts=1)
    url = reverse("event_endpoint", args=[admin.id, endpoint.id])
    with CaptureQueriesContext(connection) as five:
        client.get(url)
    for _ in range(10):
        client.post(reverse("event_endpoint_test", args=[admin.id, endpoint.id]))
    with CaptureQueriesContext(connection) as fifteen:
        client.get(url)
    assert len(fifteen) == len(five)


def test_other_orgs_endpoints_and_members_get_404(client, acme, other_org, sandbox):
    org, user = acme
    client.force_login(user)
    add(client, org, url=f"{sandbox.url}/events/mine")
    endpoint = EventEndpoint.objects.get()
    intruder = make_user(org=other_org, role=Membership.ADMIN, mfa=True)
    client.force_login(intruder)
    assert client.get(reverse("event_endpoint", args=[org.id, endpoint.id])).status_code == 404
    assert client.get(reverse("event_endpoint", args=[other_org.id, endpoint.id])
                      ).status_code == 404
    member = make_user(org=org, role=Membership.MEMBER)
    client.force_login(member)
    assert client.get(reverse("org_events", args=[org.id])).status_code == 404
