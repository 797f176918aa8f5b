"""Graph call notifications for the call-time tests: the seed's example bodies with a
chosen call, line and caller, posted to an org's webhook (with a valid token for the org,
signed by tests/bot_keys.py, unless told otherwise) or handed to the bot directly."""

import json
from unittest import mock

from django.urls import reverse

from forwarding.calltime import bot
from forwarding.models import CallRecord
from providers import graph
from tests.bot_keys import bearer, key_server
from tests.sandbox.helpers import load_fixture

LINE = "24701998-1a73-4d42-8085-bf46ed0ae039"  # the called line of seed 002's examples
CALL = "491f0b00-ffff-4bc9-a43e-b226498ec22a"
BETA_CALL = "57DAB8B1894C409AB240BD8BEAE78896"
BETA_LINE = "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698"
CALLER = "8d1e6ab6-26c5-4e22-a1bc-06ea7343958e"


def url(org):
    return reverse("graph_webhook", args=[org.webhook_key])


VALID = object()


def auth_for(org, token=VALID) -> dict:
    """The client's keyword arguments for `token`: VALID signs one for the org, None
    sends no Authorization header."""
    if token is VALID:
        token = key_server().token_for(org)
    return {} if token is None else bearer(token)


def post(client, org, body, token=VALID, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url(org), data=data, content_type="application/json",
                       **{**auth_for(org, token), **extra})


def incoming(call_id=CALL, line=LINE, caller=CALLER):
    body = load_fixture("graph_v1_ex1_incoming.json")
    item = body["value"][0]
    item["resourceUrl"] = f"/communications/calls/{call_id}"
    data = item["resourceData"]
    data["id"] = call_id
    data["targets"][0]["identity"]["application"]["id"] = line
    if caller is None:
        data["source"]["identity"] = {"@odata.type": "#microsoft.graph.identitySet"}
    elif caller.startswith("+"):
        data["source"]["identity"] = {"phone": {"id": caller}}
    else:
        data["source"]["identity"]["user"]["id"] = caller
    return body


def ok(status=202):
    return graph.RedirectResult(status_code=status, request_id="req-1")


def receive(org, body, now=None):
    with mock.patch("forwarding.calltime.bot.current_app.send_task"):
        bot.notifications_received(org=org, notifications=graph.parse_notifications(body),
                                     now=now)
    return CallRecord.objects.get(provider_call_id=graph.parse_notifications(body)[0].call_id)
