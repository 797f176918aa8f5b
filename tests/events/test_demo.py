"""`make run`'s demo: seed_demo registers Acme's event endpoint at the sandbox's receiver
(once), and sandbox_connect gives the receiver its secret, so the receiver checks every
event's signature; an Acme change then arrives there signed."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from portal import audit
from portal.audit import Actor, Event
from portal.events import delivery
from portal.management.commands.sandbox_connect import Sandbox, register_event_receivers
from portal.models import EventDelivery, EventEndpoint, Organization

from .conftest import received

pytestmark = pytest.mark.django_db


def test_the_demo_org_sends_its_events_to_the_sandbox_receiver(sandbox, settings):
    settings.SANDBOX_URL = sandbox.url
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    endpoint = EventEndpoint.objects.get()
    assert endpoint.org == Organization.objects.get(provider_org_id="acme-webex")
    assert endpoint.url == f"{sandbox.url}/events/demo"
    assert json.loads(out.getvalue())["event_endpoint"]["id"] == endpoint.id

    assert register_event_receivers(Sandbox(sandbox.url)) == 1
    assert sandbox.control("GET", "events/demo", expect=200).json()["hasSecret"] is True
    audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system("demo"), org=endpoint.org)
    delivery.attempt(EventDelivery.objects.get().pk)
    [got] = received(sandbox, "demo")
    assert got["signatureValid"] is True


def test_without_insecure_urls_the_demo_registers_no_endpoint(settings):
    settings.EVENTS_ALLOW_INSECURE_URLS = False
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    assert json.loads(out.getvalue())["event_endpoint"] is None
    assert not EventEndpoint.objects.exists()
