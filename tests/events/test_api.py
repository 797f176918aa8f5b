"""The API of event endpoints: create (secret once), refusals as JSON errors, patch,
rotate, test, deliveries, delete."""

import pytest
from rest_framework.test import APIClient

from portal.models import EventDelivery, EventEndpoint, Membership
from tests.cast import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(acme):
    org, user = acme
    client = APIClient()
    client.force_authenticate(user)
    return client, org


def base(org):
    return f"/api/v1/organizations/{org.id}/event-endpoints/"


def test_the_endpoint_life_cycle(api, sandbox):
    client, org = api
    created = client.post(base(org), {"url": f"{sandbox.url}/events/api",
                                      "event_types": ["drift.detected"]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["drift.detected"]
    pk = body["id"]
    listed = client.get(base(org)).json()
    assert [e["id"] for e in listed] == [pk] and "secret" not in listed[0]
    rotated = client.post(f"{base(org)}{pk}/rotate-secret/").json()
    assert rotated["secret"] != body["secret"]
    queued = client.post(f"{base(org)}{pk}/test/")
    assert queued.status_code == 202 and queued.json()["type"] == "test"
    deliveries = client.get(f"{base(org)}{pk}/deliveries/").json()
    assert [d["message_id"] for d in deliveries] == [queued.json()["message_id"]]
    off = client.patch(f"{base(org)}{pk}/", {"enabled": False}, format="json")
    assert off.json()["enabled"] is False
    refused = client.post(f"{base(org)}{pk}/test/")
    assert refused.status_code == 400 and "Enable the endpoint" in str(refused.json())
    assert client.delete(f"{base(org)}{pk}/").status_code == 204
    assert not EventEndpoint.objects.exists() and not EventDelivery.objects.exists()


def test_refusals_are_json_errors_on_the_field(api, settings):
    client, org = api
    settings.EVENTS_ALLOW_INSECURE_URLS = False
    answer = client.post(base(org), {"url": "https://192.168.0.2/"}, format="json")
    assert answer.status_code == 400
    assert "private address" in answer.json()["errors"]["url"][0]
    answer = client.post(base(org), {"url": "https://8.8.8.8/", "event_types": ["x.y"]},
                         format="json")
    assert answer.json()["errors"]["event_types"] == ["Unknown event type: x.y."]
    assert not EventEndpoint.objects.exists()


def test_an_admin_without_totp_may_read_but_not_write(acme, sandbox):
    org, _ = acme
    client = APIClient()
    client.force_authenticate(make_user(org=org, role=Membership.ADMIN))
    assert client.get(base(org)).status_code == 200
    assert client.post(base(org), {"url": f"{sandbox.url}/events/x"},
                       format="json").status_code == 403
