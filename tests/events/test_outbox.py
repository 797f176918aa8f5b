"""Events are written by audit.record in the change's transaction: one event (one id) per
announced audit row, one delivery per enabled endpoint that takes its type, nothing for a
rolled-back change."""

import json

import pytest
from django.db import transaction

from portal import audit
from portal.audit import ANNOUNCED, Actor, Event
from portal.events import outbox
from portal.models import AuditEvent, EventDelivery, EventEndpoint, OutgoingEvent
from tests.cast import make_org, make_person

pytestmark = pytest.mark.django_db


def endpoint(org, **kwargs):
    kwargs.setdefault("url", "https://hooks.example.com/in")
    return EventEndpoint.objects.create(org=org, secrets={"current": "whsec_AAAA"}, **kwargs)


def test_an_announced_audit_row_becomes_one_event_for_each_endpoint(acme,
                                                                   django_capture_on_commit_callbacks):
    org, _admin = acme
    first, second = endpoint(org), endpoint(org, url="https://siem.example.com/in")
    endpoint(org, url="https://off.example.com/", enabled=False)
    endpoint(org, url="https://drift.example.com/", event_types=["drift.detected"])
    endpoint(make_org("webex", name="Elsewhere"))
    person = make_person(org, name="Pat Person")
    with django_capture_on_commit_callbacks() as callbacks:
        row = audit.record(event=Event.PUSH_FAILED, actor=Actor.system("push"), person=person,
                           data={"error": "Webex refused"})
    event = OutgoingEvent.objects.get()
    assert event.message_id.startswith("msg_") and event.audit_event_id == row.pk
    assert {d.endpoint_id for d in EventDelivery.objects.all()} == {first.pk, second.pk}
    assert len(callbacks) == 1  # queues both deliveries after the commit
    body = json.loads(event.body)
    assert body["type"] == "push.failed"
    assert body["data"]["person"] == {"id": person.pk, "name": "Pat Person"}
    assert body["data"]["details"] == {"error": "Webex refused"}
    assert body["data"]["label"] == "Delivery failed"
    assert body["timestamp"].endswith("Z")


def test_a_rolled_back_change_announces_nothing(acme):
    org, _admin = acme
    endpoint(org)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system(), org=org)
        raise RuntimeError("the change failed after its audit row")
    assert not OutgoingEvent.objects.exists()
    assert not EventDelivery.objects.exists()


def test_codes_not_announced_and_orgs_without_endpoints_write_no_event(acme):
    org, _admin = acme
    audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system(), org=org)  # no endpoint
    endpoint(org)
    audit.record(event=Event.INVITATION_CREATED, actor=Actor.system(), org=org)
    assert Event.INVITATION_CREATED not in ANNOUNCED
    assert not OutgoingEvent.objects.exists()
    assert AuditEvent.objects.count() == 2


def test_the_type_filter_of_an_endpoint(acme):
    org, _admin = acme
    drift = endpoint(org, event_types=["drift.detected"])
    audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system(), org=org)
    assert not EventDelivery.objects.exists()
    audit.record(event=Event.DRIFT_DETECTED, actor=Actor.system(), org=org)
    assert EventDelivery.objects.get().endpoint == drift


def test_every_announced_code_is_in_the_one_registry_and_the_policy_code_is_defined():
    assert all(isinstance(code, Event) for code in ANNOUNCED)
    assert Event.POLICY_VIOLATION_REFUSED in ANNOUNCED
    assert outbox.TEST_TYPE not in {e.value for e in Event}
