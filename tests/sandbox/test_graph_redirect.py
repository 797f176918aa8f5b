"""Microsoft Graph call redirect (v1.0 and beta): request validation, auth, responses."""

from __future__ import annotations

import copy
import re
import time

import pytest

from .helpers import load_fixture

V1 = "/graph/v1.0/communications/calls/{}/redirect"
BETA = "/graph/beta/app/calls/{}/redirect"
ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def graph(sb, receiver):
    """Tenant t1 with a v1.0 bot line and a beta bot line, token tok-g."""
    sb.token("tok-g", "t1")
    sb.line("bot-v1", "t1", receiver.url, apiVersion="v1.0")
    sb.line("bot-beta", "t1", receiver.url, apiVersion="beta")
    return sb


def redirect(sb, call_id, body, version="v1.0", token="tok-g", **kwargs):
    path = (V1 if version == "v1.0" else BETA).format(call_id)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        kwargs["json"] = body
    return sb.http.post(sb.url + path, headers=headers, **kwargs)


def v1_target(kind="user", ident="98da8a1a-1b87-452c-a713-65d3f10b1253"):
    return {
        "@odata.type": "#microsoft.graph.invitationParticipantInfo",
        "identity": {
            "@odata.type": "#microsoft.graph.identitySet",
            kind: {"@odata.type": "#microsoft.graph.identity", "id": ident},
        },
    }


def assert_graph_error(resp, status, code, message=None):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert list(error) == ["code", "message", "innerError"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    inner = error["innerError"]
    assert UUID.match(inner["request-id"])
    assert ISO_SECONDS.match(inner["date"])
    assert resp.headers["request-id"] == inner["request-id"]


def assert_accepted(resp):
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    assert resp.headers["Content-Length"] == "0"


# --- v1.0 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "graph_v1_ex1_redirect_request.json",
        "graph_v1_ex2_redirect_request.json",
        "graph_v1_ex3_redirect_request.json",
    ],
)
def test_v1_seed_requests_are_accepted(graph, fixture):
    call = graph.call("bot-v1", "user:8d1e6ab6-26c5-4e22-a1bc-06ea7343958e")
    body = load_fixture(fixture)
    assert_accepted(redirect(graph, call["id"], body))
    recorded = graph.get_call(call["id"])
    assert recorded["redirect"] == body
    assert recorded["answeredBy"] == body["targets"][0]["identity"]
    assert recorded["outcome"] == "answered"


@pytest.mark.parametrize("count", [0, 26])
def test_v1_target_count_out_of_range(graph, count):
    call = graph.call("bot-v1", "+14255550100")
    body = {"targets": [v1_target(ident=f"u{i}") for i in range(count)]}
    assert_graph_error(
        redirect(graph, call["id"], body),
        400,
        "BadRequest",
        "targets must contain between 1 and 25 entries.",
    )
    assert graph.get_call(call["id"])["state"] == "incoming"


def test_v1_25_targets_accepted(graph):
    call = graph.call("bot-v1", "+14255550100")
    body = {"targets": [v1_target(ident=f"u{i}") for i in range(25)]}
    assert_accepted(redirect(graph, call["id"], body))


def test_v1_targets_required(graph):
    call = graph.call("bot-v1", "+14255550100")
    assert_graph_error(
        redirect(graph, call["id"], {"timeout": 30}),
        400,
        "BadRequest",
        "The targets parameter is required.",
    )


@pytest.mark.parametrize("timeout", [14, 91, 0, "60", 30.5, True])
def test_v1_timeout_out_of_range_or_not_integer(graph, timeout):
    call = graph.call("bot-v1", "+14255550100")
    resp = redirect(graph, call["id"], {"targets": [v1_target()], "timeout": timeout})
    expected = (
        "timeout must be between 15 and 90 seconds inclusive."
        if type(timeout) is int
        else "timeout must be an integer number of seconds."
    )
    assert_graph_error(resp, 400, "BadRequest", expected)


@pytest.mark.parametrize("timeout", [15, 90])
def test_v1_timeout_bounds_accepted(graph, timeout):
    call = graph.call("bot-v1", "+14255550100")
    assert_accepted(redirect(graph, call["id"], {"targets": [v1_target()], "timeout": timeout}))


def test_v1_callback_uri_must_be_https(graph):
    call = graph.call("bot-v1", "+14255550100")
    body = {"targets": [v1_target()], "callbackUri": "http://bot.contoso.com/api/calls"}
    assert_graph_error(
        redirect(graph, call["id"], body), 400, "BadRequest", "callbackUri must be an https URI."
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"identity": {"@odata.type": "#microsoft.graph.identitySet"}},
            "targets[0].identity must contain exactly one of user, phone, application, "
            "applicationInstance.",
        ),
        (
            {"identity": {"user": {"id": "a"}, "phone": {"id": "+1"}}},
            "targets[0].identity must contain exactly one of user, phone, application, "
            "applicationInstance.",
        ),
        (
            {"identity": {"phone": {"displayName": "no id"}}},
            "targets[0].identity.phone.id must be a non-empty string.",
        ),
        (
            {"identity": {"user": {"id": ""}}},
            "targets[0].identity.user.id must be a non-empty string.",
        ),
        ({"user": {"id": "beta-style"}}, "targets[0].identity must be an identitySet object."),
        ("+14255550100", "targets[0] must be an invitationParticipantInfo object."),
    ],
)
def test_v1_target_identity_validation(graph, target, message):
    call = graph.call("bot-v1", "+14255550100")
    assert_graph_error(
        redirect(graph, call["id"], {"targets": [target]}), 400, "BadRequest", message
    )


def test_v1_extra_fields_accepted(graph):
    call = graph.call("bot-v1", "+14255550100")
    body = {
        "targets": [v1_target()],
        "routingPolicies": ["disableForwarding"],
        "somethingNew": {"x": 1},
    }
    assert_accepted(redirect(graph, call["id"], body))


def test_v1_unknown_call_is_404(graph):
    assert_graph_error(
        redirect(graph, "no-such-call", {"targets": [v1_target()]}),
        404,
        "ItemNotFound",
        "Call no-such-call was not found.",
    )


def test_v1_call_no_longer_incoming_after_redirect(graph):
    call = graph.call("bot-v1", "+14255550100")
    assert_accepted(redirect(graph, call["id"], {"targets": [v1_target()]}))
    again = redirect(graph, call["id"], {"targets": [v1_target(ident="other")]})
    assert again.status_code == 400
    message = again.json()["error"]["message"]
    assert message.startswith(f"Call {call['id']} is in state '")
    assert message.endswith("only an incoming call can be redirected.")
    # The first redirect stays the recorded one.
    assert graph.get_call(call["id"])["answeredBy"]["user"]["id"] != "other"


def test_v1_call_no_longer_incoming_after_deadline(graph):
    call = graph.call("bot-v1", "+14255550100", deadline_ms=150)
    time.sleep(0.3)
    resp = redirect(graph, call["id"], {"targets": [v1_target()]})
    assert_graph_error(
        resp,
        400,
        "BadRequest",
        f"Call {call['id']} is in state 'terminated'; only an incoming call can be redirected.",
    )
    recorded = graph.get_call(call["id"])
    assert recorded["outcome"] == "unanswered"
    assert recorded["redirect"] is None


def test_v1_malformed_json(graph):
    call = graph.call("bot-v1", "+14255550100")
    resp = redirect(graph, call["id"], None, data=b"{]")
    assert_graph_error(resp, 400, "BadRequest")
    assert resp.json()["error"]["message"].startswith("Malformed JSON body")


def test_v1_body_must_be_object(graph):
    call = graph.call("bot-v1", "+14255550100")
    assert_graph_error(
        redirect(graph, call["id"], [v1_target()]),
        400,
        "BadRequest",
        "The request body must be a JSON object.",
    )


@pytest.mark.parametrize("token", [None, "unknown"])
def test_missing_or_unknown_token_is_401(graph, token):
    call = graph.call("bot-v1", "+14255550100")
    assert_graph_error(
        redirect(graph, call["id"], {"targets": [v1_target()]}, token=token),
        401,
        "InvalidAuthenticationToken",
        "Access token is empty or not valid.",
    )


def test_token_of_another_tenant_is_403(graph):
    graph.token("tok-other", "t2")
    call = graph.call("bot-v1", "+14255550100")
    assert_graph_error(
        redirect(graph, call["id"], {"targets": [v1_target()]}, token="tok-other"),
        403,
        "Forbidden",
        "The token is not authorized for this call's tenant.",
    )
    assert graph.get_call(call["id"])["state"] == "incoming"


def test_partner_token_reaches_customer_tenant(graph):
    graph.token("tok-partner", "tp", partner_for=["t1"])
    call = graph.call("bot-v1", "+14255550100")
    assert_accepted(redirect(graph, call["id"], {"targets": [v1_target()]}, token="tok-partner"))


def test_wrong_api_version_is_404(graph):
    call = graph.call("bot-v1", "+14255550100")
    resp = redirect(graph, call["id"], {"targets": [{"user": {"id": "x"}}]}, version="beta")
    assert_graph_error(resp, 404, "ItemNotFound")
    assert "registered for v1.0" in resp.json()["error"]["message"]


def test_get_on_redirect_is_405_and_unknown_graph_path_404(graph):
    call = graph.call("bot-v1", "+14255550100")
    resp = graph.http.get(
        graph.url + V1.format(call["id"]), headers={"Authorization": "Bearer tok-g"}
    )
    assert_graph_error(resp, 405, "MethodNotAllowed")
    resp = graph.http.get(graph.url + "/graph/v1.0/me", headers={"Authorization": "Bearer tok-g"})
    assert_graph_error(resp, 404, "ItemNotFound")


# --- beta -------------------------------------------------------------------


def assert_comms_operation(resp):
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "Running"
    assert ISO_SECONDS.match(body["createdDateTime"])
    assert ISO_SECONDS.match(body["lastActionDateTime"])
    assert UUID.match(body["id"])
    assert body["@odata.type"] == "#microsoft.graph.commsOperation"
    return body


def test_beta_seed_forward_request(graph):
    call = graph.call("bot-beta", "user:8A34A46B-3D17-4ADC-8DCE-DC4E7D572698")
    body = load_fixture("graph_beta_forward_request.json")
    assert body["timeout"] == "60"  # a numeric string, as in the documentation
    operation = assert_comms_operation(redirect(graph, call["id"], body, version="beta"))
    documented = load_fixture("graph_beta_forward_response.json")
    assert set(documented) <= set(operation)
    assert "clientContext" not in operation
    recorded = graph.get_call(call["id"])
    assert recorded["redirect"] == body
    assert recorded["answeredBy"] == body["targets"][0]


def test_beta_seed_first_example_timeout_99_is_rejected(graph):
    # The documentation's first beta example sends "timeout": 99, outside the 15..90
    # range Graph documents for redirect; the sandbox enforces the range.
    call = graph.call("bot-beta", "+14255550100")
    body = load_fixture("graph_beta_redirect_request.json")
    assert body["timeout"] == 99
    assert_graph_error(
        redirect(graph, call["id"], body, version="beta"),
        400,
        "BadRequest",
        "timeout must be between 15 and 90 seconds inclusive.",
    )
    fixed = {**copy.deepcopy(body), "timeout": 90, "clientContext": "clientContext-value"}
    operation = assert_comms_operation(redirect(graph, call["id"], fixed, version="beta"))
    documented = load_fixture("graph_beta_redirect_response.json")
    assert set(documented) <= set(operation)
    assert operation["clientContext"] == "clientContext-value"


def test_beta_applications_path_is_accepted(graph):
    call = graph.call("bot-beta", "+14255550100")
    resp = graph.http.post(
        graph.url + f"/graph/beta/applications/app-1/calls/{call['id']}/redirect",
        headers={"Authorization": "Bearer tok-g"},
        json={"targets": [{"phone": {"id": "+12345678901"}}]},
    )
    assert_comms_operation(resp)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"targets": []}, "targets must contain between 1 and 25 entries."),
        (
            {"targets": [{"user": {"id": f"u{i}"}} for i in range(26)]},
            "targets must contain between 1 and 25 entries.",
        ),
        (
            {"targets": [{"identity": {"user": {"id": "v1-style"}}}]},
            "targets[0] must contain exactly one of user, phone, application, applicationInstance.",
        ),
        ({"timeout": 14}, "timeout must be between 15 and 90 seconds inclusive."),
        ({"timeout": "91"}, "timeout must be between 15 and 90 seconds inclusive."),
        ({"timeout": "sixty"}, "timeout must be an integer number of seconds."),
        ({"targetDisposition": "voicemail"}, "targetDisposition must be one of default, forward."),
        ({"maskCallee": "false"}, "maskCallee must be a boolean."),
        ({"maskCaller": 0}, "maskCaller must be a boolean."),
    ],
)
def test_beta_validation(graph, patch, message):
    call = graph.call("bot-beta", "+14255550100")
    body = {**load_fixture("graph_beta_forward_request.json"), **patch}
    assert_graph_error(
        redirect(graph, call["id"], body, version="beta"), 400, "BadRequest", message
    )


@pytest.mark.parametrize("timeout", [15, "15", 90, "90"])
def test_beta_timeout_bounds_accepted(graph, timeout):
    call = graph.call("bot-beta", "+14255550100")
    body = {**load_fixture("graph_beta_forward_request.json"), "timeout": timeout}
    assert_comms_operation(redirect(graph, call["id"], body, version="beta"))


def test_beta_minimal_body(graph):
    call = graph.call("bot-beta", "+14255550100")
    body = {"targets": [{"application": {"id": "22bfd41f-550e-477d-8789-f6f7bd2a5e8b"}}]}
    assert_comms_operation(redirect(graph, call["id"], body, version="beta"))


def test_beta_no_longer_incoming(graph):
    call = graph.call("bot-beta", "+14255550100")
    body = load_fixture("graph_beta_forward_request.json")
    assert_comms_operation(redirect(graph, call["id"], body, version="beta"))
    resp = redirect(graph, call["id"], body, version="beta")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].endswith("only an incoming call can be redirected.")


def test_beta_unknown_call_is_404(graph):
    body = load_fixture("graph_beta_forward_request.json")
    assert_graph_error(
        redirect(graph, "57DAB8B1894C409AB240BD8BEAE78896", body, version="beta"),
        404,
        "ItemNotFound",
    )
