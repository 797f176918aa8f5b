"""Simulated Graph calls: callback notifications, their shapes and order, deadlines."""

from __future__ import annotations

import copy
import time

import pytest
import requests

from .helpers import load_fixture, skeleton, wait_until

V1 = "/graph/v1.0/communications/calls/{}/redirect"
BETA = "/graph/beta/app/calls/{}/redirect"
LINE_ID = "24701998-1a73-4d42-8085-bf46ed0ae039"
PSTN_LINE_ID = "7629bdce-046c-4903-86b4-a8f718277e1a"
CALLER = "8d1e6ab6-26c5-4e22-a1bc-06ea7343958e"


@pytest.fixture
def graph(sb):
    sb.token("tok-g", "632899f8-2ea1-4604-8413-27bd2892079f")
    return sb


def add_line(
    sb,
    receiver,
    line_id=LINE_ID,
    version="v1.0",
    identity_type="application",
    display_name="test bot",
):
    return sb.line(
        line_id,
        "632899f8-2ea1-4604-8413-27bd2892079f",
        receiver.url,
        apiVersion=version,
        identityType=identity_type,
        displayName=display_name,
    )


def redirect(sb, call_id, body, version="v1.0"):
    path = (V1 if version == "v1.0" else BETA).format(call_id)
    return sb.http.post(sb.url + path, json=body, headers={"Authorization": "Bearer tok-g"})


def only_value(notification):
    assert len(notification["value"]) == 1
    return notification["value"][0]


def without(mapping, *keys):
    copied = copy.deepcopy(mapping)
    for key in keys:
        copied.pop(key, None)
    return copied


def assert_delivery_headers(item):
    assert item["headers"]["content-type"] == "application/json"
    # A signed JWT (its claims are checked in test_identity_tokens.py).
    scheme, _, token = item["headers"]["authorization"].partition(" ")
    assert scheme == "Bearer" and token.count(".") == 2
    assert item["path"] == "/api/calls"


# --- v1.0 -------------------------------------------------------------------


def test_v1_one_target_in_time(graph, receiver):
    add_line(graph, receiver)
    call = graph.call(LINE_ID, f"user:{CALLER}", deadline_ms=3000)
    assert call["state"] == "incoming"
    assert call["apiVersion"] == "v1.0"
    incoming = receiver.wait_for(1)[0]
    assert_delivery_headers(incoming)

    seed_incoming = load_fixture("graph_v1_ex1_incoming.json")
    assert skeleton(incoming["body"]) == skeleton(seed_incoming)
    item = only_value(incoming["body"])
    assert item["changeType"] == "created"
    assert item["resourceUrl"] == f"/communications/calls/{call['id']}"
    data = item["resourceData"]
    assert data["state"] == "incoming"
    assert data["direction"] == "incoming"
    assert data["id"] == call["id"]
    assert data["callbackUri"] == receiver.url
    assert data["source"]["identity"]["user"]["id"] == CALLER
    assert data["targets"][0]["identity"]["application"] == {
        "@odata.type": "#microsoft.graph.identity",
        "displayName": "test bot",
        "id": LINE_ID,
    }

    body = load_fixture("graph_v1_ex1_redirect_request.json")
    assert redirect(graph, call["id"], body).status_code == 202
    terminated = receiver.wait_for(2)[1]
    assert_delivery_headers(terminated)
    item = only_value(terminated["body"])
    seed_terminated = load_fixture("graph_v1_ex1_terminated.json")
    # Same shape as the documented terminated notification, plus answeredBy.
    assert skeleton(without(item["resourceData"], "answeredBy")) == skeleton(
        only_value(seed_terminated)["resourceData"]
    )
    assert item["changeType"] == "deleted"
    assert item["resourceData"]["state"] == "terminated"
    assert item["resourceData"]["callbackUri"] == body["callbackUri"]
    assert item["resourceData"]["answeredBy"] == {
        "@odata.type": "#microsoft.graph.participantInfo",
        "identity": body["targets"][0]["identity"],
        "endpointType": "default",
    }

    final = graph.wait_call(call["id"], 2)
    assert final["state"] == "terminated"
    assert final["outcome"] == "answered"
    assert final["redirect"] == body
    assert final["answeredBy"] == body["targets"][0]["identity"]
    assert 0 <= final["notificationToRedirectMs"] < 3000
    assert [
        (n["state"], n["changeType"], n["status"], n["error"]) for n in final["notifications"]
    ] == [
        ("incoming", "created", 200, None),
        ("terminated", "deleted", 200, None),
    ]
    time.sleep(0.1)
    assert len(receiver.received) == 2


def test_v1_several_targets_answered_by_the_first(graph, receiver):
    add_line(graph, receiver)
    call = graph.call(LINE_ID, "user:ec040873-8235-45fd-a403-c7259a5a548e", deadline_ms=3000)
    receiver.wait_for(1)
    body = load_fixture("graph_v1_ex2_redirect_request.json")
    assert len(body["targets"]) == 2
    assert redirect(graph, call["id"], body).status_code == 202
    item = only_value(receiver.wait_for(2)[1]["body"])
    seed = only_value(load_fixture("graph_v1_ex2_terminated.json"))
    assert skeleton(without(item["resourceData"], "answeredBy")) == skeleton(seed["resourceData"])
    answered = item["resourceData"]["answeredBy"]["identity"]["user"]
    assert answered["id"] == "98da8a1a-1b87-452c-a713-65d3f10b1253"
    assert answered["displayName"] == "test user"


def test_v1_pstn_application_instance_line(graph, receiver):
    add_line(
        graph,
        receiver,
        PSTN_LINE_ID,
        identity_type="applicationInstance",
        display_name="PstnAppInstance",
    )
    call = graph.call(PSTN_LINE_ID, f"user:{CALLER}", deadline_ms=3000)
    incoming = receiver.wait_for(1)[0]["body"]
    assert skeleton(incoming) == skeleton(load_fixture("graph_v1_ex3_incoming.json"))
    data = only_value(incoming)["resourceData"]
    assert data["tenantId"] == "632899f8-2ea1-4604-8413-27bd2892079f"
    assert data["targets"][0]["identity"]["applicationInstance"]["id"] == PSTN_LINE_ID
    assert data["targets"][0]["id"] == data["myParticipantId"]

    body = load_fixture("graph_v1_ex3_redirect_request.json")
    assert redirect(graph, call["id"], body).status_code == 202
    terminated = only_value(receiver.wait_for(2)[1]["body"])
    seed = only_value(load_fixture("graph_v1_ex3_terminated.json"))
    # The documentation shows an "encrypted" identity in answeredBy; the sandbox
    # reports the redirect's first target, so compare around that one key.
    ours = copy.deepcopy(terminated["resourceData"])
    theirs = copy.deepcopy(seed["resourceData"])
    ours["answeredBy"]["identity"] = theirs["answeredBy"]["identity"] = "identity"
    assert skeleton(ours) == skeleton(theirs)
    assert terminated["resourceData"]["answeredBy"]["identity"]["phone"]["id"] == "+12345678901"


def test_v1_phone_and_anonymous_callers(graph, receiver):
    add_line(graph, receiver)
    graph.call(LINE_ID, "+14255550100", deadline_ms=3000)
    graph.call(LINE_ID, "anonymous", deadline_ms=3000)
    bodies = [only_value(item["body"]) for item in receiver.wait_for(2)]
    identities = sorted(
        (b["resourceData"]["source"]["identity"] for b in bodies), key=len, reverse=True
    )
    assert identities == [
        {
            "@odata.type": "#microsoft.graph.identitySet",
            "phone": {"@odata.type": "#microsoft.graph.identity", "id": "+14255550100"},
        },
        {"@odata.type": "#microsoft.graph.identitySet"},
    ]


def test_v1_too_late_ends_unanswered(graph, receiver):
    add_line(graph, receiver)
    started = time.monotonic()
    call = graph.call(LINE_ID, "+14255550100", deadline_ms=200)
    received = receiver.wait_for(2)
    assert time.monotonic() - started >= 0.2
    states = [only_value(r["body"])["resourceData"]["state"] for r in received]
    assert states == ["incoming", "terminated"]
    terminated = only_value(received[1]["body"])
    assert terminated["changeType"] == "deleted"
    assert "answeredBy" not in terminated["resourceData"]

    late = redirect(graph, call["id"], load_fixture("graph_v1_ex1_redirect_request.json"))
    assert late.status_code == 400
    final = graph.wait_call(call["id"], 2)
    assert final["state"] == "terminated"
    assert final["outcome"] == "unanswered"
    assert final["redirect"] is None
    assert final["answeredBy"] is None
    assert final["notificationToRedirectMs"] is None
    time.sleep(0.1)
    assert len(receiver.received) == 2


def test_v1_bot_redirects_while_handling_the_incoming_notification(graph, receiver, sandbox_url):
    """Like a real bot: the redirect is sent before the notification POST is answered."""
    add_line(graph, receiver)
    answers = []

    def bot(item):
        data = only_value(item["body"])["resourceData"]
        if data["state"] == "incoming":
            resp = requests.post(
                sandbox_url + V1.format(data["id"]),
                json=load_fixture("graph_v1_ex1_redirect_request.json"),
                headers={"Authorization": "Bearer tok-g"},
                timeout=5,
            )
            answers.append(resp.status_code)

    receiver.on_notification = bot
    call = graph.call(LINE_ID, "+14255550100", deadline_ms=2000)
    receiver.wait_for(2)
    assert answers == [202]
    final = graph.wait_call(call["id"], 2)
    assert final["outcome"] == "answered"
    assert final["notificationToRedirectMs"] < 2000


# --- beta -------------------------------------------------------------------


def test_beta_one_target_in_time(graph, receiver):
    add_line(
        graph,
        receiver,
        "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698",
        version="beta",
        display_name="Test BOT",
    )
    call = graph.call(
        "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698",
        "user:8A34A46B-3D17-4ADC-8DCE-DC4E7D572698",
        deadline_ms=3000,
    )
    assert call["apiVersion"] == "beta"
    incoming = receiver.wait_for(1)[0]
    assert_delivery_headers(incoming)
    assert skeleton(incoming["body"]) == skeleton(load_fixture("graph_beta_incoming.json"))
    item = only_value(incoming["body"])
    assert item["changeType"] == "created"
    assert item["resource"] == f"/app/calls/{call['id']}"
    data = item["resourceData"]
    assert data["@odata.id"] == f"/app/calls/{call['id']}"
    assert data["callState"] == "incoming"
    assert data["targets"][0]["identity"]["application"]["id"] == (
        "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698"
    )

    body = load_fixture("graph_beta_forward_request.json")
    assert redirect(graph, call["id"], body, version="beta").status_code == 200
    received = receiver.wait_for(4)
    redirecting, terminated, deleted = (only_value(r["body"]) for r in received[1:])

    seed = {
        name: only_value(load_fixture(f"graph_beta_{name}.json"))
        for name in ("redirecting", "terminated", "deleted")
    }
    assert skeleton(redirecting) == skeleton(seed["redirecting"])
    assert redirecting["changeType"] == "updated"
    assert redirecting["resourceData"]["callState"] == "redirecting"

    assert skeleton(without(terminated["resourceData"], "answeredBy")) == skeleton(
        without(seed["terminated"]["resourceData"], "answeredBy")
    )
    assert terminated["changeType"] == "updated"
    assert terminated["resourceData"]["callState"] == "terminated"
    assert terminated["resourceData"]["terminationReason"] == "AppRedirected"
    assert terminated["resourceData"]["answeredBy"] == body["targets"][0]

    assert skeleton(deleted) == skeleton(seed["deleted"])
    assert deleted["changeType"] == "deleted"
    assert deleted["resource"] == f"/app/calls/{call['id']}"

    etags = [only_value(r["body"])["resourceData"]["@odata.etag"] for r in received]
    assert len(set(etags)) == 4

    final = graph.wait_call(call["id"], 4)
    assert final["outcome"] == "answered"
    assert final["state"] == "terminated"
    assert [(n["state"], n["changeType"], n["status"]) for n in final["notifications"]] == [
        ("incoming", "created", 200),
        ("redirecting", "updated", 200),
        ("terminated", "updated", 200),
        ("deleted", "deleted", 200),
    ]


def test_beta_several_targets_answered_by_the_first(graph, receiver):
    add_line(graph, receiver, "bot-beta", version="beta")
    call = graph.call("bot-beta", "+14255550100", deadline_ms=3000)
    receiver.wait_for(1)
    body = {
        "targets": [
            {"phone": {"id": "+12345678901"}},
            {"user": {"id": "98da8a1a-1b87-452c-a713-65d3f10b1253"}},
        ],
        "targetDisposition": "forward",
    }
    assert redirect(graph, call["id"], body, version="beta").status_code == 200
    terminated = only_value(receiver.wait_for(4)[2]["body"])
    assert terminated["resourceData"]["answeredBy"] == {"phone": {"id": "+12345678901"}}


def test_beta_phone_caller_source(graph, receiver):
    add_line(graph, receiver, "bot-beta", version="beta")
    graph.call("bot-beta", "+14255550100", deadline_ms=3000)
    source = only_value(receiver.wait_for(1)[0]["body"])["resourceData"]["source"]
    assert source["identity"]["phone"]["id"] == "+14255550100"


def test_beta_too_late_ends_unanswered(graph, receiver):
    add_line(graph, receiver, "bot-beta", version="beta")
    call = graph.call("bot-beta", "+14255550100", deadline_ms=200)
    received = receiver.wait_for(3)
    items = [only_value(r["body"]) for r in received]
    assert [(i["changeType"], i["resourceData"].get("callState")) for i in items] == [
        ("created", "incoming"),
        ("updated", "terminated"),
        ("deleted", None),
    ]
    assert "answeredBy" not in items[1]["resourceData"]
    assert "terminationReason" not in items[1]["resourceData"]
    late = redirect(graph, call["id"], load_fixture("graph_beta_forward_request.json"), "beta")
    assert late.status_code == 400
    final = graph.wait_call(call["id"], 3)
    assert final["outcome"] == "unanswered"
    time.sleep(0.1)
    assert len(receiver.received) == 3


# --- delivery and bookkeeping -------------------------------------------------


def test_delivery_failures_are_recorded_not_raised(graph, receiver):
    receiver.status = 500
    add_line(graph, receiver)
    call = graph.call(LINE_ID, "+14255550100", deadline_ms=100)
    final = graph.wait_call(call["id"], 2)
    assert [(n["state"], n["status"], n["error"]) for n in final["notifications"]] == [
        ("incoming", 500, "HTTP 500"),
        ("terminated", 500, "HTTP 500"),
    ]


def test_unreachable_callback_is_recorded(graph):
    graph.line("dead", "t-dead", "http://127.0.0.1:9/callback")
    call = graph.call("dead", "+14255550100", deadline_ms=100)
    final = graph.wait_call(call["id"], 2)
    assert final["outcome"] == "unanswered"
    for notification in final["notifications"]:
        assert notification["status"] is None
        assert notification["error"].startswith("ConnectionRefusedError")


def test_lines_and_calls_are_listed(graph, receiver):
    line = add_line(graph, receiver)
    assert line == {
        "lineId": LINE_ID,
        "orgId": "632899f8-2ea1-4604-8413-27bd2892079f",
        "callbackUrl": receiver.url,
        "apiVersion": "v1.0",
        "identityType": "application",
        "displayName": "test bot",
        "appId": "sandbox-bot",
    }
    assert graph.control("GET", "graph/lines", 200).json() == [line]
    call = graph.call(LINE_ID, "+14255550100", deadline_ms=5000)
    listed = graph.control("GET", "graph/calls", 200).json()
    assert [c["id"] for c in listed] == [call["id"]]
    assert set(call) >= {
        "id",
        "lineId",
        "caller",
        "apiVersion",
        "state",
        "outcome",
        "redirect",
        "answeredBy",
        "notificationToRedirectMs",
        "notifications",
    }
    assert call["lineId"] == LINE_ID
    assert call["caller"] == "+14255550100"
    assert call["deadlineMs"] == 5000


def test_default_deadline_is_15_seconds(graph, receiver):
    add_line(graph, receiver)
    call = graph.call(LINE_ID, "+14255550100")
    assert call["deadlineMs"] == 15000


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"lineId": LINE_ID, "caller": "4255550100"}, 400),
        ({"lineId": LINE_ID, "caller": "user:"}, 400),
        ({"lineId": LINE_ID, "caller": "+14255550100", "deadlineMs": 0}, 400),
        ({"lineId": "nope", "caller": "+14255550100"}, 404),
        ({"caller": "+14255550100"}, 400),
    ],
)
def test_call_creation_validation(graph, receiver, body, status):
    add_line(graph, receiver)
    resp = graph.control("POST", "graph/calls", json=body)
    assert resp.status_code == status
    assert isinstance(resp.json()["error"], str)


@pytest.mark.parametrize(
    "patch",
    [
        {"callbackUrl": "ftp://x"},
        {"apiVersion": "v2"},
        {"identityType": "phone"},
        {"orgId": ""},
    ],
)
def test_line_registration_validation(sb, patch):
    body = {"lineId": "l", "orgId": "o", "callbackUrl": "http://127.0.0.1:1/cb", **patch}
    resp = sb.control("POST", "graph/lines", json=body)
    assert resp.status_code == 400


def test_reset_stops_pending_calls(sandbox_url, graph, receiver):
    add_line(graph, receiver)
    graph.call(LINE_ID, "+14255550100", deadline_ms=300)
    receiver.wait_for(1)
    graph.control("POST", "reset", 200)
    time.sleep(0.6)
    # The terminated notification of a call forgotten by reset is never sent.
    assert len(receiver.received) == 1
    assert graph.control("GET", "graph/calls", 200).json() == []


def test_notification_to_redirect_is_measured(graph, receiver):
    add_line(graph, receiver)
    call = graph.call(LINE_ID, "+14255550100", deadline_ms=3000)
    receiver.wait_for(1)
    time.sleep(0.2)
    redirect(graph, call["id"], load_fixture("graph_v1_ex1_redirect_request.json"))
    final = wait_until(lambda: (c := graph.get_call(call["id"]))["outcome"] and c)
    assert 200 <= final["notificationToRedirectMs"] < 3000


def test_a_batch_of_calls_starts_together(graph, receiver):
    add_line(graph, receiver)
    other = add_line(graph, receiver, line_id="second-line")["lineId"]
    resp = graph.control("POST", "graph/calls/batch", json={"calls": [
        {"lineId": LINE_ID, "caller": "+14255550100", "deadlineMs": 300},
        {"lineId": other, "caller": "anonymous", "deadlineMs": 300},
    ]})
    assert resp.status_code == 201
    started = resp.json()
    assert [(c["lineId"], c["caller"]) for c in started] == [
        (LINE_ID, "+14255550100"), (other, "anonymous")]
    # Both incoming notifications arrive, and both calls end unanswered (no redirect).
    receiver.wait_for(2)
    for call in started:
        assert graph.wait_call(call["id"], 2)["outcome"] == "unanswered"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"calls": []}, 400),
        ({"calls": "x"}, 400),
        ({"calls": [{"lineId": LINE_ID, "caller": "+14255550100"}] * 101}, 400),
        ({"calls": [{"lineId": LINE_ID, "caller": "+14255550100"}, {"lineId": "nope",
                                                                   "caller": "anonymous"}]}, 404),
        ({"calls": [{"lineId": LINE_ID, "caller": "+14255550100"}, "x"]}, 400),
    ],
)
def test_a_batch_with_one_bad_call_starts_none(graph, receiver, body, status):
    add_line(graph, receiver)
    resp = graph.control("POST", "graph/calls/batch", json=body)
    assert resp.status_code == status
    assert isinstance(resp.json()["error"], str)
    assert graph.control("GET", "graph/calls", 200).json() == []
