"""providers.webex: the URL (person id quoted, orgId only for a partner acting for a
customer), the bearer header, the exact PUT body of seed 001, parsing of a GET, and the
translation of Webex's errors, all with the HTTP session faked (tests/providers/fake_http)."""

import email.utils
import json
import time

import pytest
import requests

from providers import webex
from providers.base import Connection, ForwardingState, ProviderError
from providers.http import DEFAULT_TIMEOUT
from tests.providers import fake_http

BASE = "https://webexapis.com/v1"
PERSON = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM="  # base64 ids end in "=", often
PERSON_URL = f"{BASE}/people/Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM%3D/features/callForwarding"
CONN = Connection(base_url=BASE, token="tok-123", org_id="org-own")

# Seed 001's example body, verbatim but for systemMaxNumberOfRings (read-only, not sent).
SEED_BODY = {
    "callForwarding": {
        "always": {"enabled": False, "destination": "", "ringReminderEnabled": False,
                   "destinationVoicemailEnabled": False},
        "busy": {"enabled": True, "destination": "9075551333",
                 "destinationVoicemailEnabled": True},
        "noAnswer": {"enabled": False, "destination": "", "numberOfRings": 2,
                     "destinationVoicemailEnabled": False},
    },
    "businessContinuity": {"enabled": False, "destination": "",
                           "destinationVoicemailEnabled": False},
}
SEED_STATE = ForwardingState(busy_enabled=True, busy_destination="9075551333",
                             busy_voicemail=True, no_answer_ring_after=2)


@pytest.fixture
def fake(monkeypatch):
    return fake_http.install(monkeypatch)


def push(fake, state=SEED_STATE, conn=CONN, person=PERSON, status=204, headers=None):
    fake.answer(fake_http.response(status, headers=headers))
    return webex.WebexProvider().push(conn, person, state)


def refused(fake, status, body=None, *, headers=None, text=None):
    fake.answer(fake_http.response(status, body, headers=headers, text=text))
    with pytest.raises(ProviderError) as info:
        webex.WebexProvider().push(CONN, PERSON, SEED_STATE)
    return info.value


# --- request ----------------------------------------------------------------------------------


class TestRequest:
    def test_put_to_the_persons_url_with_bearer_and_seed_body(self, fake):
        result = push(fake, headers={"TrackingID": "ROUTERGW_abc"})
        (call,) = fake.calls
        assert call["method"] == "PUT"
        assert call["url"] == PERSON_URL
        assert call["headers"] == {"Authorization": "Bearer tok-123"}
        assert call["json"] == SEED_BODY
        assert json.loads(call["body"]) == SEED_BODY
        assert call["timeout"] == DEFAULT_TIMEOUT
        assert result.status_code == 204
        assert result.tracking_id == "ROUTERGW_abc"
        assert result.requests == 1
        assert result.summary == "PUT callForwarding"

    def test_person_id_is_quoted_whole(self, fake):
        push(fake, person="a/b c?d#e")
        assert fake.calls[0]["url"] == f"{BASE}/people/a%2Fb%20c%3Fd%23e/features/callForwarding"

    def test_trailing_slash_of_base_url_is_not_doubled(self, fake):
        push(fake, conn=Connection(base_url=BASE + "/", token="tok-123"))
        assert fake.calls[0]["url"] == PERSON_URL

    def test_org_id_of_the_own_org_is_not_sent(self, fake):
        push(fake, conn=Connection(base_url=BASE, token="tok-123", org_id="org-own"))
        assert "orgId" not in fake.calls[0]["url"]

    def test_partner_acting_for_a_customer_sends_its_org_id(self, fake):
        conn = Connection(base_url=BASE, token="partner-tok", org_id="org-partner",
                          acting_org_id="Y2lzY29=/org+1")
        push(fake, conn=conn)
        fake.answer(fake_http.response(200, SEED_BODY))
        webex.WebexProvider().fetch(conn, PERSON)
        put, get = fake.calls
        assert put["url"] == f"{PERSON_URL}?orgId=Y2lzY29%3D%2Forg%2B1"
        assert get["url"] == put["url"]
        assert put["headers"] == get["headers"] == {"Authorization": "Bearer partner-tok"}

    def test_timeout_option_is_passed_on(self, fake):
        push(fake, conn=Connection(base_url=BASE, token="t", options={"timeout": (1, 2)}))
        assert fake.calls[0]["timeout"] == (1, 2)


class TestToWire:
    def test_everything_on(self):
        state = ForwardingState(
            always_enabled=True, always_destination="+12025550100", always_ring_reminder=True,
            always_voicemail=True, busy_enabled=True, busy_destination="2001",
            busy_voicemail=False, no_answer_enabled=True, no_answer_destination="+441632960000",
            no_answer_ring_after=5, no_answer_voicemail=True, continuity_enabled=True,
            continuity_destination="+12025550199", continuity_voicemail=True,
            simring_enabled=True, simring_targets=("+12025550111",), simring_timeout=20)
        assert webex.to_wire(state) == {
            "callForwarding": {
                "always": {"enabled": True, "destination": "+12025550100",
                           "ringReminderEnabled": True, "destinationVoicemailEnabled": True},
                "busy": {"enabled": True, "destination": "2001",
                         "destinationVoicemailEnabled": False},
                "noAnswer": {"enabled": True, "destination": "+441632960000",
                             "destinationVoicemailEnabled": True, "numberOfRings": 5},
            },
            "businessContinuity": {"enabled": True, "destination": "+12025550199",
                                   "destinationVoicemailEnabled": True},
        }

    def test_all_off_sends_no_number_of_rings(self):
        body = webex.to_wire(ForwardingState())
        assert body["callForwarding"]["noAnswer"] == {
            "enabled": False, "destination": "", "destinationVoicemailEnabled": False}
        assert body["callForwarding"]["always"] == {
            "enabled": False, "destination": "", "ringReminderEnabled": False,
            "destinationVoicemailEnabled": False}
        assert body["businessContinuity"] == {
            "enabled": False, "destination": "", "destinationVoicemailEnabled": False}

    def test_simultaneous_ring_is_not_part_of_this_document(self):
        with_simring = ForwardingState(simring_enabled=True, simring_targets=("+12025550111",))
        assert webex.to_wire(with_simring) == webex.to_wire(ForwardingState())

    def test_seed_body(self):
        assert webex.to_wire(SEED_STATE) == SEED_BODY


class TestFetch:
    def test_get_parses_the_seed_body(self, fake):
        seed = json.loads(json.dumps(SEED_BODY))
        seed["callForwarding"]["noAnswer"]["systemMaxNumberOfRings"] = 20
        fake.answer(fake_http.response(200, seed))
        state = webex.WebexProvider().fetch(CONN, PERSON)
        (call,) = fake.calls
        assert call["method"] == "GET"
        assert call["url"] == PERSON_URL
        assert call["headers"] == {"Authorization": "Bearer tok-123"}
        assert call["json"] is None
        assert state == SEED_STATE

    def test_round_trip(self):
        state = ForwardingState(
            always_enabled=True, always_destination="+12025550100", always_ring_reminder=True,
            busy_enabled=True, busy_destination="2001", no_answer_enabled=True,
            no_answer_destination="+441632960000", no_answer_ring_after=4,
            no_answer_voicemail=True, continuity_enabled=True,
            continuity_destination="+12025550199", continuity_voicemail=True)
        assert webex.from_wire(webex.to_wire(state)) == state

    def test_missing_and_null_parts_read_as_off(self):
        assert webex.from_wire({}) == ForwardingState()
        assert webex.from_wire({"callForwarding": None, "businessContinuity": None}) == \
            ForwardingState()
        body = {"callForwarding": {"always": {"enabled": True, "destination": None},
                                   "noAnswer": {"enabled": True}}}
        state = webex.from_wire(body)
        assert state.always_enabled is True
        assert state.always_destination == ""
        assert state.no_answer_enabled is True
        assert state.no_answer_ring_after is None

    def test_empty_or_non_json_body_reads_as_all_off(self, fake):
        fake.answer(fake_http.response(200, text="<html>ok</html>"),
                    fake_http.response(200, ["not", "a", "dict"]))
        assert webex.WebexProvider().fetch(CONN, PERSON) == ForwardingState()
        assert webex.WebexProvider().fetch(CONN, PERSON) == ForwardingState()


# --- errors -----------------------------------------------------------------------------------


class TestErrors:
    def test_400_names_the_field_from_message_without_raw_json(self, fake):
        body = {"message": "Invalid destination: 12ab", "trackingId": "ROUTERGW_x"}
        exc = refused(fake, 400, body, headers={"TrackingID": "ROUTERGW_x"})
        assert exc.permanent is True
        assert exc.status_code == 400
        assert exc.retry_after is None
        assert exc.message == "Webex Calling refused the settings: Invalid destination: 12ab."
        assert str(exc) == exc.message
        assert "{" not in exc.message and "trackingId" not in exc.message
        assert json.loads(exc.raw) == body  # the body is kept for the log only
        assert exc.tracking_id == "ROUTERGW_x"

    def test_400_detail_from_errors_description(self, fake):
        body = {"errors": [{"description": "numberOfRings must be between 2 and 20"}]}
        exc = refused(fake, 400, body)
        assert exc.message == ("Webex Calling refused the settings: "
                               "numberOfRings must be between 2 and 20.")
        assert exc.permanent is True

    @pytest.mark.parametrize("body", [
        {"message": {"code": 7, "text": "bad"}},
        {"message": ["bad"]},
        {"errors": [{"description": {"field": "numberOfRings"}}]},
        {"message": 42, "errors": [{"description": None}]},
    ])
    def test_400_detail_that_is_not_a_string_is_left_out(self, fake, body):
        exc = refused(fake, 400, body)
        assert exc.message == "Webex Calling refused the settings."
        assert "{" not in exc.message and "[" not in exc.message

    def test_400_non_string_message_falls_back_to_the_errors_description(self, fake):
        body = {"message": {"code": 7}, "errors": [{"description": "Invalid destination"}]}
        assert refused(fake, 400, body).message == (
            "Webex Calling refused the settings: Invalid destination.")

    @pytest.mark.parametrize("status, words", [
        (401, "Webex Calling refused the portal's credentials; an admin must reconnect the "
              "organization."),
        (403, "Webex Calling refused: the portal may not change this person's settings (check the "
              "token's scope or the partner's access to this org)."),
        (404, "Webex Calling does not know this person (were they removed from Webex Calling?)."),
        (409, "Webex Calling refused the change as conflicting."),
        (410, "Webex Calling refused the request (410)."),
    ])
    def test_permanent_4xx_with_own_words_and_no_detail(self, fake, status, words):
        body = {"message": "secret internal detail", "errors": [{"description": "x"}]}
        exc = refused(fake, status, body)
        assert exc.permanent is True
        assert exc.status_code == status
        assert exc.message == words
        assert "secret" not in exc.message

    def test_423_is_transient_with_retry_after_seconds(self, fake):
        exc = refused(fake, 423, {"message": "locked"}, headers={"Retry-After": "30"})
        assert exc.permanent is False
        assert exc.status_code == 423
        assert exc.retry_after == 30.0
        assert exc.message == "Webex Calling has this person's settings locked for now."

    def test_429_is_transient_with_retry_after_seconds(self, fake):
        exc = refused(fake, 429, {"message": "Too many requests"},
                      headers={"Retry-After": "120"})
        assert (exc.permanent, exc.status_code, exc.retry_after) == (False, 429, 120.0)
        assert exc.message == "Webex Calling asked the portal to slow down."

    def test_429_with_retry_after_http_date(self, fake):
        later = email.utils.formatdate(time.time() + 90, usegmt=True)
        exc = refused(fake, 429, headers={"Retry-After": later})
        assert exc.permanent is False
        assert 85 <= exc.retry_after <= 90

    def test_retry_after_date_in_the_past_or_garbage(self, fake):
        past = email.utils.formatdate(time.time() - 3600, usegmt=True)
        assert refused(fake, 429, headers={"Retry-After": past}).retry_after == 0.0
        assert refused(fake, 429, headers={"Retry-After": "soon"}).retry_after is None
        assert refused(fake, 429).retry_after is None

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_5xx_is_transient_and_shows_no_body(self, fake, status):
        body = {"message": "NullPointerException at com.cisco.Foo", "errors": []}
        exc = refused(fake, status, body, headers={"Retry-After": "5"})
        assert exc.permanent is False
        assert exc.status_code == status
        assert exc.retry_after == 5.0
        assert exc.message == f"Webex Calling had a problem ({status})."

    def test_html_error_page_is_not_shown(self, fake):
        exc = refused(fake, 502, text="<html><body>Bad gateway</body></html>")
        assert exc.message == "Webex Calling had a problem (502)."
        assert "<html>" in exc.raw

    def test_fetch_errors_are_translated_too(self, fake):
        fake.answer(fake_http.response(404, {"message": "Person not found"}))
        with pytest.raises(ProviderError) as info:
            webex.WebexProvider().fetch(CONN, PERSON)
        assert info.value.permanent is True
        assert info.value.status_code == 404


class TestTransport:
    def test_timeout_is_transient(self, fake):
        fake.answer(requests.ReadTimeout("read timed out (10.0)"))
        with pytest.raises(ProviderError) as info:
            webex.WebexProvider().push(CONN, PERSON, SEED_STATE)
        exc = info.value
        assert exc.permanent is False
        assert exc.status_code is None
        assert exc.retry_after is None
        assert exc.message == "Webex Calling did not answer in time."
        assert "read timed out" in exc.raw
        assert isinstance(exc.__cause__, requests.Timeout)

    def test_connection_error_is_transient(self, fake):
        fake.answer(requests.ConnectionError("Name or service not known"))
        with pytest.raises(ProviderError) as info:
            webex.WebexProvider().fetch(CONN, PERSON)
        assert info.value.permanent is False
        assert info.value.status_code is None
        assert info.value.message == "Webex Calling could not be reached."
