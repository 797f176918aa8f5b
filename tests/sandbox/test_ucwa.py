"""Skype for Business UCWA callForwardingSettings: operations, validation, errors."""

from __future__ import annotations

import pytest

BASE = "/ucwa/v1/applications/{}/me/callForwardingSettings"
IMMEDIATE = "/immediateForwardSettings/immediateForwardToContact"
SIMUL = "/simultaneousRingSettings/simultaneousRingToContact"
UNANSWERED = "/unansweredCallSettings/unansweredCallToContact"
TURN_OFF = "/turnOffCallForwarding"
# The token of the documentation example.
TOKEN = "cwt=PHNhbWw6QXNzZXJ0aW9uIHhtbG5...uZm8"


@pytest.fixture
def ucwa(sb):
    sb.ucwa_app("192", TOKEN, org_id="org-u")
    return sb


def req(sb, method, op="", app="192", token=TOKEN, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return sb.http.request(method, sb.url + BASE.format(app) + op, headers=headers, **kwargs)


def settings(sb, app="192"):
    resp = req(sb, "GET", app=app)
    assert resp.status_code == 200, resp.text
    return resp.json()


def assert_ucwa_error(resp, status, code, subcode, message=None):
    assert resp.status_code == status, resp.text
    body = resp.json()
    expected_keys = ["code", "subcode", "message"] if subcode else ["code", "message"]
    assert list(body) == expected_keys
    assert body["code"] == code
    assert body.get("subcode") == subcode
    if message is not None:
        assert body["message"] == message


def assert_no_content(resp):
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    assert resp.headers["Content-Length"] == "0"


def test_initial_settings_document(ucwa):
    base = BASE.format("192")
    assert settings(ucwa) == {
        "activeSetting": "off",
        "immediateForwardTarget": None,
        "simultaneousRingTarget": None,
        "unansweredCallEnabled": False,
        "unansweredCallTarget": None,
        "ringDelay": 20,
        "_links": {
            "self": {"href": base},
            "immediateForwardToContact": {"href": base + IMMEDIATE},
            "simultaneousRingToContact": {"href": base + SIMUL},
            "unansweredCallToContact": {"href": base + UNANSWERED},
            "turnOffCallForwarding": {"href": base + TURN_OFF},
        },
    }


def test_seed_example_immediate_forward(ucwa):
    # The documented request (POST .../applications/192/...immediateForwardToContact with
    # the example bearer token) plus the required target query parameter.
    resp = req(ucwa, "POST", IMMEDIATE, params={"target": "tel:+14255551234"})
    assert_no_content(resp)
    state = settings(ucwa)
    assert state["activeSetting"] == "immediateForward"
    assert state["immediateForwardTarget"] == "tel:+14255551234"


def test_seed_example_without_target_is_rejected(ucwa):
    # The documentation's sample omits the (required) target; the sandbox insists.
    resp = req(ucwa, "POST", IMMEDIATE)
    assert_ucwa_error(
        resp, 400, "BadRequest", "ParameterValidationFailure", "The target parameter is required."
    )


def test_target_in_json_body(ucwa):
    resp = req(ucwa, "POST", IMMEDIATE, json={"target": "sip:jenny@contoso.com"})
    assert_no_content(resp)
    assert settings(ucwa)["immediateForwardTarget"] == "sip:jenny@contoso.com"


def test_query_target_wins_over_body(ucwa):
    resp = req(ucwa, "POST", SIMUL, params={"target": "tel:+1111"}, json={"target": "tel:+2222"})
    assert_no_content(resp)
    assert settings(ucwa)["simultaneousRingTarget"] == "tel:+1111"


def test_simultaneous_ring_and_unanswered_call_coexist(ucwa):
    assert_no_content(req(ucwa, "POST", SIMUL, params={"target": "tel:+1111"}))
    assert_no_content(
        req(ucwa, "POST", UNANSWERED, params={"target": "sip:vm@contoso.com", "ringDelay": "30"})
    )
    state = settings(ucwa)
    assert state["activeSetting"] == "simultaneousRing"
    assert state["simultaneousRingTarget"] == "tel:+1111"
    assert state["unansweredCallEnabled"] is True
    assert state["unansweredCallTarget"] == "sip:vm@contoso.com"
    assert state["ringDelay"] == 30


def test_immediate_forward_replaces_other_modes(ucwa):
    req(ucwa, "POST", SIMUL, params={"target": "tel:+1111"})
    req(ucwa, "POST", UNANSWERED, params={"target": "tel:+2222"})
    assert_no_content(req(ucwa, "POST", IMMEDIATE, params={"target": "tel:+3333"}))
    state = settings(ucwa)
    assert state["activeSetting"] == "immediateForward"
    assert state["immediateForwardTarget"] == "tel:+3333"
    assert state["simultaneousRingTarget"] is None
    assert state["unansweredCallEnabled"] is False
    assert state["unansweredCallTarget"] is None


def test_unanswered_call_after_immediate_forward(ucwa):
    req(ucwa, "POST", IMMEDIATE, params={"target": "tel:+3333"})
    assert_no_content(req(ucwa, "POST", UNANSWERED, json={"target": "tel:+4444"}))
    state = settings(ucwa)
    assert state["activeSetting"] == "unansweredCall"
    assert state["immediateForwardTarget"] is None
    assert state["unansweredCallTarget"] == "tel:+4444"
    assert state["ringDelay"] == 20  # unchanged when not given


def test_simultaneous_ring_replaces_immediate_forward(ucwa):
    req(ucwa, "POST", IMMEDIATE, params={"target": "tel:+3333"})
    assert_no_content(req(ucwa, "POST", SIMUL, params={"target": "tel:+5555"}))
    state = settings(ucwa)
    assert state["activeSetting"] == "simultaneousRing"
    assert state["immediateForwardTarget"] is None


def test_turn_off(ucwa):
    req(ucwa, "POST", SIMUL, params={"target": "tel:+1111"})
    req(ucwa, "POST", UNANSWERED, params={"target": "tel:+2222", "ringDelay": 45})
    assert_no_content(req(ucwa, "POST", TURN_OFF))
    state = settings(ucwa)
    assert state["activeSetting"] == "off"
    assert state["simultaneousRingTarget"] is None
    assert state["unansweredCallEnabled"] is False
    assert state["unansweredCallTarget"] is None
    assert state["ringDelay"] == 45


@pytest.mark.parametrize("delay", [5, 60])
def test_ring_delay_bounds_accepted(ucwa, delay):
    resp = req(ucwa, "POST", UNANSWERED, params={"target": "tel:+1", "ringDelay": delay})
    assert_no_content(resp)
    assert settings(ucwa)["ringDelay"] == delay


def test_ring_delay_in_body(ucwa):
    assert_no_content(req(ucwa, "POST", UNANSWERED, json={"target": "tel:+1", "ringDelay": 7}))
    assert settings(ucwa)["ringDelay"] == 7


@pytest.mark.parametrize("where", ["query", "body"])
@pytest.mark.parametrize("delay", [4, 61, "abc"])
def test_ring_delay_out_of_range(ucwa, where, delay):
    if where == "query":
        resp = req(ucwa, "POST", UNANSWERED, params={"target": "tel:+1", "ringDelay": delay})
    else:
        resp = req(ucwa, "POST", UNANSWERED, json={"target": "tel:+1", "ringDelay": delay})
    message = (
        "The ringDelay parameter must be an integer number of seconds."
        if delay == "abc"
        else "The ringDelay parameter must be between 5 and 60 seconds."
    )
    assert_ucwa_error(resp, 400, "BadRequest", "ParameterValidationFailure", message)
    assert settings(ucwa)["unansweredCallEnabled"] is False


def test_target_of_80_characters_is_accepted(ucwa):
    target = "sip:" + "a" * 64 + "@contoso.com"
    assert len(target) == 80
    assert_no_content(req(ucwa, "POST", IMMEDIATE, params={"target": target}))


@pytest.mark.parametrize("op", [IMMEDIATE, SIMUL, UNANSWERED])
def test_target_of_81_characters_is_rejected(ucwa, op):
    target = "sip:" + "a" * 65 + "@contoso.com"
    assert len(target) == 81
    resp = req(ucwa, "POST", op, params={"target": target})
    assert_ucwa_error(
        resp,
        400,
        "BadRequest",
        "ParameterValidationFailure",
        "The target parameter must be at most 80 characters.",
    )
    assert settings(ucwa)["activeSetting"] == "off"


@pytest.mark.parametrize(
    "target",
    [
        "+14255551234",
        "mailto:jenny@contoso.com",
        "http://x",
        "tel:",
        "sip: ",
        "tel:+1 425 555 1234",
        "tel: 14255551234",  # what "tel:+1425..." becomes when "+" is not URL-encoded
    ],
)
def test_target_must_be_tel_or_sip_uri(ucwa, target):
    resp = req(ucwa, "POST", IMMEDIATE, params={"target": target})
    assert_ucwa_error(
        resp,
        400,
        "BadRequest",
        "ParameterValidationFailure",
        "The target parameter must be a tel: or sip: URI.",
    )


def test_target_must_be_a_string(ucwa):
    resp = req(ucwa, "POST", IMMEDIATE, json={"target": 14255551234})
    assert_ucwa_error(
        resp,
        400,
        "BadRequest",
        "ParameterValidationFailure",
        "The target parameter must be a string.",
    )


def test_malformed_json_body(ucwa):
    resp = req(ucwa, "POST", IMMEDIATE, data=b"{nope", headers={"Content-Type": "application/json"})
    assert_ucwa_error(resp, 400, "BadRequest", None)
    assert resp.json()["message"].startswith("Malformed JSON body")


@pytest.mark.parametrize("token", [None, "someone-else"])
def test_wrong_or_missing_token_is_401(ucwa, token):
    resp = req(ucwa, "GET", token=token)
    assert_ucwa_error(resp, 401, "Unauthorized", None, "The bearer token is missing or not valid.")
    resp = req(ucwa, "POST", IMMEDIATE, token=token, params={"target": "tel:+1"})
    assert resp.status_code == 401


def test_token_of_another_application_is_401(ucwa):
    ucwa.ucwa_app("193", "other-token")
    assert req(ucwa, "GET", app="193").status_code == 401
    assert req(ucwa, "GET", app="193", token="other-token").status_code == 200


def test_unknown_application_is_404(ucwa):
    resp = req(ucwa, "GET", app="999")
    assert_ucwa_error(resp, 404, "NotFound", None, "Application 999 was not found.")


def test_unknown_operation_is_404(ucwa):
    resp = req(ucwa, "POST", "/immediateForwardSettings/forwardToVoicemail")
    assert_ucwa_error(resp, 404, "NotFound", None)


def test_wrong_method_is_405(ucwa):
    assert_ucwa_error(req(ucwa, "GET", IMMEDIATE), 405, "MethodNotAllowed", None)
    assert_ucwa_error(req(ucwa, "POST"), 405, "MethodNotAllowed", None)


SWITCHABLE = [
    (
        "Forbidden",
        403,
        "Forbidden",
        None,
        "The user is not enabled for enterprise voice, the user is anonymous, or the "
        "administrator has disabled call forwarding to custom numbers.",
    ),
    ("AlreadyExists", 409, "Conflict", "AlreadyExists", "The already exists error."),
    ("TooManyGroups", 409, "Conflict", "TooManyGroups", "The too many groups error."),
    (
        "CannotRedirect",
        410,
        "Gone",
        "CannotRedirect",
        "Cannot redirect since there is no back up pool configured.",
    ),
    (
        "CallbackChannelError",
        500,
        "ServiceFailure",
        "CallbackChannelError",
        "The remote event channel is not reachable.",
    ),
]


@pytest.mark.parametrize(("switch", "status", "code", "subcode", "message"), SWITCHABLE)
def test_switchable_errors(sb, switch, status, code, subcode, message):
    sb.ucwa_app("192", TOKEN, errors={switch: True})
    for op, params in [
        (IMMEDIATE, {"target": "tel:+1"}),
        (SIMUL, {"target": "tel:+1"}),
        (UNANSWERED, {"target": "tel:+1"}),
        (TURN_OFF, {}),
    ]:
        resp = req(sb, "POST", op, params=params)
        assert_ucwa_error(resp, status, code, subcode, message)
    # Nothing changed, and GET is not affected.
    assert settings(sb)["activeSetting"] == "off"
    # Switching the error off again through the control API restores success.
    sb.control("PATCH", "ucwa/applications/192", 200, json={"errors": {switch: False}})
    assert_no_content(req(sb, "POST", IMMEDIATE, params={"target": "tel:+1"}))


def test_switch_errors_on_later_with_patch(ucwa):
    assert_no_content(req(ucwa, "POST", IMMEDIATE, params={"target": "tel:+1"}))
    body = ucwa.control(
        "PATCH", "ucwa/applications/192", 200, json={"errors": {"TooManyGroups": True}}
    ).json()
    assert body["errors"] == {
        "Forbidden": False,
        "AlreadyExists": False,
        "TooManyGroups": True,
        "CannotRedirect": False,
        "CallbackChannelError": False,
    }
    resp = req(ucwa, "POST", IMMEDIATE, params={"target": "tel:+2"})
    assert_ucwa_error(resp, 409, "Conflict", "TooManyGroups")


def test_parameter_validation_comes_before_switched_errors(sb):
    sb.ucwa_app("192", TOKEN, errors={"Forbidden": True})
    resp = req(sb, "POST", IMMEDIATE, params={"target": "nope"})
    assert_ucwa_error(resp, 400, "BadRequest", "ParameterValidationFailure")


def test_unknown_error_switch_is_rejected_by_control_api(sb):
    resp = sb.control(
        "POST",
        "ucwa/applications",
        json={"applicationId": "1", "token": "t", "errors": {"Busy": True}},
    )
    assert resp.status_code == 400
    assert "unknown UCWA error 'Busy'" in resp.json()["error"]


def test_unencoded_plus_in_query_target_is_rejected(ucwa):
    url = ucwa.url + BASE.format("192") + IMMEDIATE + "?target=tel:+14255551234"
    resp = ucwa.http.post(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert_ucwa_error(
        resp,
        400,
        "BadRequest",
        "ParameterValidationFailure",
        "The target parameter must be a tel: or sip: URI.",
    )
    encoded = ucwa.url + BASE.format("192") + IMMEDIATE + "?target=tel:%2B14255551234"
    assert_no_content(ucwa.http.post(encoded, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert settings(ucwa)["immediateForwardTarget"] == "tel:+14255551234"
