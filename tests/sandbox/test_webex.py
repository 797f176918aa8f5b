"""Webex Calling call forwarding settings: GET/PUT, validation, auth and org scoping."""

from __future__ import annotations

import copy

import pytest

from .helpers import load_fixture

PATH = "/webex/v1/people/{}/features/callForwarding"

NEW_PERSON = {
    "callForwarding": {
        "always": {
            "enabled": False,
            "destination": "",
            "ringReminderEnabled": False,
            "destinationVoicemailEnabled": False,
        },
        "busy": {"enabled": False, "destination": "", "destinationVoicemailEnabled": False},
        "noAnswer": {
            "enabled": False,
            "destination": "",
            "numberOfRings": 3,
            "systemMaxNumberOfRings": 20,
            "destinationVoicemailEnabled": False,
        },
    },
    "businessContinuity": {
        "enabled": False,
        "destination": "",
        "destinationVoicemailEnabled": False,
    },
}


@pytest.fixture
def webex(sb):
    """Org A with person alice, reachable with token tok-a."""
    sb.token("tok-a", "org-a")
    sb.person("org-a", "alice")
    return sb


def call(sb, method, person="alice", token="tok-a", **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return sb.http.request(method, sb.url + PATH.format(person), headers=headers, **kwargs)


def assert_webex_error(resp, status, message):
    assert resp.status_code == status, resp.text
    tracking = resp.headers["TrackingID"]
    assert resp.json() == {
        "message": message,
        "errors": [{"description": message}],
        "trackingId": tracking,
    }


def test_new_person_has_everything_off(webex):
    resp = call(webex, "GET")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == NEW_PERSON
    # Key order follows the documentation example.
    assert list(resp.json()["callForwarding"]["noAnswer"]) == [
        "enabled",
        "destination",
        "numberOfRings",
        "systemMaxNumberOfRings",
        "destinationVoicemailEnabled",
    ]


def test_every_response_has_a_fresh_tracking_id(webex):
    ids = {call(webex, "GET").headers["TrackingID"] for _ in range(3)}
    ids.add(call(webex, "GET", token="nope").headers["TrackingID"])
    ids.add(call(webex, "PUT", json={}).headers["TrackingID"])
    assert len(ids) == 5
    assert all(i.startswith("SANDBOX_") for i in ids)


def test_seed_example_put_then_get(webex):
    example = load_fixture("webex_call_forwarding.json")
    resp = call(webex, "PUT", json=example)
    assert resp.status_code == 204
    assert resp.content == b""
    assert resp.headers["Content-Length"] == "0"
    assert resp.headers["TrackingID"].startswith("SANDBOX_")
    got = call(webex, "GET")
    assert got.status_code == 200
    assert got.json() == example


def test_partial_put_merges_given_keys_only(webex):
    resp = call(
        webex,
        "PUT",
        json={"callForwarding": {"busy": {"enabled": True, "destination": "+15550001"}}},
    )
    assert resp.status_code == 204
    resp = call(
        webex,
        "PUT",
        json={
            "callForwarding": {"noAnswer": {"numberOfRings": 5}},
            "businessContinuity": {"destination": "+15550002"},
        },
    )
    assert resp.status_code == 204
    expected = copy.deepcopy(NEW_PERSON)
    expected["callForwarding"]["busy"]["enabled"] = True
    expected["callForwarding"]["busy"]["destination"] = "+15550001"
    expected["callForwarding"]["noAnswer"]["numberOfRings"] = 5
    expected["businessContinuity"]["destination"] = "+15550002"
    assert call(webex, "GET").json() == expected


def test_empty_object_changes_nothing(webex):
    assert call(webex, "PUT", json={}).status_code == 204
    assert call(webex, "GET").json() == NEW_PERSON


def test_system_max_number_of_rings_is_read_only_and_ignored(webex):
    body = {"callForwarding": {"noAnswer": {"systemMaxNumberOfRings": 5, "numberOfRings": 20}}}
    resp = call(webex, "PUT", json=body)
    assert resp.status_code == 204
    no_answer = call(webex, "GET").json()["callForwarding"]["noAnswer"]
    assert no_answer["systemMaxNumberOfRings"] == 20
    assert no_answer["numberOfRings"] == 20


@pytest.mark.parametrize("rings", [1, 21, 0, -3])
def test_number_of_rings_out_of_range(webex, rings):
    resp = call(webex, "PUT", json={"callForwarding": {"noAnswer": {"numberOfRings": rings}}})
    assert_webex_error(
        resp,
        400,
        "Invalid field value: callForwarding.noAnswer.numberOfRings must be between 2 and 20.",
    )
    assert call(webex, "GET").json() == NEW_PERSON


@pytest.mark.parametrize("rings", [2, 20])
def test_number_of_rings_bounds_accepted(webex, rings):
    resp = call(webex, "PUT", json={"callForwarding": {"noAnswer": {"numberOfRings": rings}}})
    assert resp.status_code == 204
    assert call(webex, "GET").json()["callForwarding"]["noAnswer"]["numberOfRings"] == rings


def test_number_of_rings_limit_follows_the_persons_system_max(sb):
    sb.token("tok-a", "org-a")
    sb.person("org-a", "bob", system_max=10)
    assert (
        call(sb, "GET", "bob").json()["callForwarding"]["noAnswer"]["systemMaxNumberOfRings"] == 10
    )
    ok = call(sb, "PUT", "bob", json={"callForwarding": {"noAnswer": {"numberOfRings": 10}}})
    assert ok.status_code == 204
    bad = call(sb, "PUT", "bob", json={"callForwarding": {"noAnswer": {"numberOfRings": 11}}})
    assert_webex_error(
        bad,
        400,
        "Invalid field value: callForwarding.noAnswer.numberOfRings must be between 2 and 10.",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"callForwarding": {"always": {"enabled": "yes"}}},
            "Invalid field value: callForwarding.always.enabled must be a boolean.",
        ),
        (
            {"callForwarding": {"busy": {"enabled": 1}}},
            "Invalid field value: callForwarding.busy.enabled must be a boolean.",
        ),
        (
            {"callForwarding": {"always": {"destination": 5551234}}},
            "Invalid field value: callForwarding.always.destination must be a string.",
        ),
        (
            {"businessContinuity": {"destination": None}},
            "Invalid field value: businessContinuity.destination must be a string.",
        ),
        (
            {"callForwarding": {"noAnswer": {"numberOfRings": "3"}}},
            "Invalid field value: callForwarding.noAnswer.numberOfRings must be an integer.",
        ),
        (
            {"callForwarding": {"noAnswer": {"numberOfRings": True}}},
            "Invalid field value: callForwarding.noAnswer.numberOfRings must be an integer.",
        ),
        (
            {"callForwarding": {"always": {"ringReminderEnabled": "true"}}},
            "Invalid field value: callForwarding.always.ringReminderEnabled must be a boolean.",
        ),
        ({"callForwarding": []}, "Invalid field value: callForwarding must be an object."),
        (
            {"callForwarding": {"always": {"destinaton": "+1555"}}},
            "Unknown field: callForwarding.always.destinaton.",
        ),
        ({"selectiveForwarding": {}}, "Unknown field: selectiveForwarding."),
        ([], "Request body must be a JSON object."),
    ],
)
def test_wrong_types_are_rejected_and_nothing_changes(webex, body, message):
    # A valid change placed before the invalid one proves the PUT is all-or-nothing.
    if isinstance(body, dict):
        rest = {k: v for k, v in body.items() if k != "businessContinuity"}
        continuity = {"enabled": True, **body.get("businessContinuity", {})}
        body = {"businessContinuity": continuity, **rest}
    resp = call(webex, "PUT", json=body)
    assert_webex_error(resp, 400, message)
    assert call(webex, "GET").json() == NEW_PERSON


def test_malformed_json_is_400(webex):
    resp = call(
        webex, "PUT", data=b'{"callForwarding": ', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("Malformed JSON body")
    assert resp.json()["trackingId"] == resp.headers["TrackingID"]


def test_missing_body_is_400(webex):
    assert_webex_error(call(webex, "PUT"), 400, "Request body is required.")


@pytest.mark.parametrize("token", [None, "unknown-token"])
def test_missing_or_unknown_token_is_401(webex, token):
    resp = call(webex, "GET", token=token)
    assert_webex_error(
        resp,
        401,
        "The request requires a valid access token set in the Authorization request header.",
    )


def test_non_bearer_authorization_is_401(webex):
    resp = call(webex, "GET", token=None, headers={"Authorization": "Basic dG9rLWE6"})
    assert resp.status_code == 401


def test_token_reaches_only_its_own_org(webex):
    webex.person("org-b", "carol")
    # Without orgId the token addresses its own org, where carol does not live.
    assert_webex_error(
        call(webex, "GET", "carol"), 404, "Person carol not found in organization org-a."
    )
    # Naming carol's org explicitly is refused.
    assert_webex_error(
        call(webex, "GET", "carol", params={"orgId": "org-b"}),
        403,
        "The token is not authorized for organization org-b.",
    )
    # Naming its own org explicitly is fine.
    assert call(webex, "GET", params={"orgId": "org-a"}).status_code == 200


def test_partner_token_reaches_customer_orgs_with_org_id(sb):
    sb.token("partner", "org-p", partner_for=["cust-1", "cust-2"])
    sb.person("cust-1", "dave")
    sb.person("cust-2", "erin")
    sb.person("cust-3", "frank")
    ok = call(
        sb,
        "PUT",
        "dave",
        token="partner",
        params={"orgId": "cust-1"},
        json={"callForwarding": {"always": {"enabled": True, "destination": "+1555"}}},
    )
    assert ok.status_code == 204
    got = call(sb, "GET", "dave", token="partner", params={"orgId": "cust-1"})
    assert got.json()["callForwarding"]["always"]["destination"] == "+1555"
    # Without orgId the partner token addresses its own org only.
    assert call(sb, "GET", "dave", token="partner").status_code == 404
    # A customer org not in partnerFor is forbidden.
    assert call(sb, "GET", "frank", token="partner", params={"orgId": "cust-3"}).status_code == 403
    # The person must live in the org being addressed.
    assert_webex_error(
        call(sb, "GET", "erin", token="partner", params={"orgId": "cust-1"}),
        404,
        "Person erin not found in organization cust-1.",
    )


def test_unknown_person_is_404(webex):
    assert_webex_error(
        call(webex, "GET", "nobody"), 404, "Person nobody not found in organization org-a."
    )


def test_unknown_webex_path_is_404(webex):
    resp = webex.http.get(
        webex.url + "/webex/v1/people/alice/features/voicemail",
        headers={"Authorization": "Bearer tok-a"},
    )
    assert_webex_error(resp, 404, "The requested resource could not be found.")


def test_other_method_is_405(webex):
    assert_webex_error(call(webex, "DELETE"), 405, "Method DELETE is not allowed on this resource.")


def test_reposting_a_person_resets_it(webex):
    call(webex, "PUT", json={"callForwarding": {"always": {"enabled": True}}})
    webex.person("org-a", "alice", system_max=8)
    expected = copy.deepcopy(NEW_PERSON)
    expected["callForwarding"]["noAnswer"]["systemMaxNumberOfRings"] = 8
    assert call(webex, "GET").json() == expected


def test_url_encoded_person_id(sb):
    person_id = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS85OWNlZjA4Yy0=="
    sb.token("tok-a", "org-a")
    sb.person("org-a", person_id)
    resp = sb.http.get(
        sb.url + PATH.format(person_id.replace("=", "%3D")),
        headers={"Authorization": "Bearer tok-a"},
    )
    assert resp.status_code == 200


def test_default_number_of_rings_never_exceeds_a_small_system_max(sb):
    sb.token("tok-a", "org-a")
    sb.person("org-a", "tiny", system_max=2)
    no_answer = call(sb, "GET", "tiny").json()["callForwarding"]["noAnswer"]
    assert no_answer["numberOfRings"] == 2
    assert no_answer["systemMaxNumberOfRings"] == 2
