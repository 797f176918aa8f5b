"""providers.ucwa: the plan of operations for each state (seed 000), the POSTs a push
makes (URL, bearer header, target as a query parameter, no JSON body), parsing of the
settings resource, and the translation of UCWA's errors, with the HTTP session faked
(tests/providers/fake_http)."""

import email.utils
import time

import pytest
import requests

from providers import ucwa
from providers.base import Connection, ForwardingState, ProviderError
from providers.capabilities import GRAPH, LYNC, PORTAL_DESTINATION_MAX_LENGTH, UCWA, WEBEX
from providers.http import DEFAULT_TIMEOUT
from tests.providers import fake_http

BASE = "https://fe1.contoso.com:443/ucwa/v1"
APP = "192"
SETTINGS = f"{BASE}/applications/192/me/callForwardingSettings"
CONN = Connection(base_url=BASE, token="cwt=PHNhbWw6QXNzZXJ0aW9uIHhtbG5")
AUTH = {"Authorization": "Bearer cwt=PHNhbWw6QXNzZXJ0aW9uIHhtbG5"}
SFB = "Skype for Business (UCWA)"  # the one name of UCWA in sentences
ALWAYS = ForwardingState(always_enabled=True, always_destination="+12025550100")


@pytest.fixture
def fake(monkeypatch):
    return fake_http.install(monkeypatch)


def push(fake, state, conn=CONN, app=APP):
    fake.answer(*[fake_http.response(204) for _ in ucwa.plan(state)])
    return ucwa.UcwaProvider().push(conn, app, state)


def refused(fake, status, body=None, *, headers=None, text=None, state=ALWAYS):
    fake.answer(fake_http.response(status, body, headers=headers, text=text))
    with pytest.raises(ProviderError) as info:
        ucwa.UcwaProvider().push(CONN, APP, state)
    return info.value


# --- plan -------------------------------------------------------------------------------------


class TestPlan:
    def test_nothing_on_only_turns_forwarding_off(self):
        assert ucwa.plan(ForwardingState()) == [("turnOffCallForwarding", {})]

    def test_immediate_forward_to_a_number(self):
        assert ucwa.plan(ALWAYS) == [
            ("turnOffCallForwarding", {}),
            ("immediateForwardSettings/immediateForwardToContact",
             {"target": "tel:+12025550100"}),
        ]

    def test_immediate_forward_wins_over_everything_else(self):
        state = ForwardingState(always_enabled=True, always_destination="ada@contoso.com",
                                simring_enabled=True, simring_targets=("+12025550111",),
                                no_answer_enabled=True, no_answer_destination="+12025550122")
        assert ucwa.plan(state) == [
            ("turnOffCallForwarding", {}),
            ("immediateForwardSettings/immediateForwardToContact",
             {"target": "sip:ada@contoso.com"}),
        ]

    def test_simultaneous_ring_and_unanswered_with_ring_delay(self):
        state = ForwardingState(simring_enabled=True,
                                simring_targets=("sip:grace@contoso.com",),
                                no_answer_enabled=True, no_answer_destination="tel:+12025550122",
                                no_answer_ring_after=20)
        assert ucwa.plan(state) == [
            ("turnOffCallForwarding", {}),
            ("simultaneousRingSettings/simultaneousRingToContact",
             {"target": "sip:grace@contoso.com"}),
            ("unansweredCallSettings/unansweredCallToContact",
             {"target": "tel:+12025550122", "ringDelay": 20}),
        ]

    def test_more_simultaneous_ring_targets_than_ucwa_holds_are_refused_not_dropped(self):
        state = ForwardingState(simring_enabled=True,
                                simring_targets=("+12025550100", "+12025550101"))
        with pytest.raises(ProviderError) as info:
            ucwa.plan(state)
        assert info.value.permanent is True
        assert info.value.message == (
            f"{SFB} rings at most 1 simultaneous-ring target; 2 were asked for.")

    def test_enabled_without_destination_is_off(self):
        state = ForwardingState(always_enabled=True, simring_enabled=True,
                                no_answer_enabled=True)
        assert ucwa.plan(state) == [("turnOffCallForwarding", {})]

    def test_busy_and_continuity_have_no_ucwa_operation(self):
        state = ForwardingState(busy_enabled=True, busy_destination="+12025550100",
                                continuity_enabled=True, continuity_destination="+12025550101")
        assert ucwa.plan(state) == [("turnOffCallForwarding", {})]

    @pytest.mark.parametrize("destination, uri", [
        ("+12025550100", "tel:+12025550100"),
        ("2001", "tel:2001"),
        ("ada@contoso.com", "sip:ada@contoso.com"),
        ("sip:ada@contoso.com", "sip:ada@contoso.com"),
        ("tel:+12025550100", "tel:+12025550100"),
    ])
    def test_to_uri(self, destination, uri):
        assert ucwa.to_uri(destination) == uri

    @pytest.mark.parametrize("uri, destination", [
        ("tel:+12025550100", "+12025550100"),
        ("sip:ada@contoso.com", "sip:ada@contoso.com"),
        ("", ""),
        (None, ""),
    ])
    def test_from_uri(self, uri, destination):
        assert ucwa.from_uri(uri) == destination


# --- push -------------------------------------------------------------------------------------


class TestPush:
    def test_seed_immediate_forward_requests(self, fake):
        result = push(fake, ALWAYS)
        off, forward = fake.calls
        assert off["method"] == forward["method"] == "POST"
        assert off["url"] == f"{SETTINGS}/turnOffCallForwarding"
        assert forward["url"] == (f"{SETTINGS}/immediateForwardSettings/"
                                  "immediateForwardToContact?target=tel%3A%2B12025550100")
        assert off["headers"] == forward["headers"] == AUTH
        assert off["json"] is forward["json"] is None
        assert off["body"] is forward["body"] is None
        assert off["timeout"] == DEFAULT_TIMEOUT
        assert result.status_code == 204
        assert result.requests == 2
        assert result.summary == "turnOffCallForwarding + immediateForwardToContact"

    def test_three_operations_in_order(self, fake):
        state = ForwardingState(simring_enabled=True, simring_targets=("ada@contoso.com",),
                                no_answer_enabled=True, no_answer_destination="+12025550122",
                                no_answer_ring_after=15)
        result = push(fake, state)
        assert [call["url"] for call in fake.calls] == [
            f"{SETTINGS}/turnOffCallForwarding",
            f"{SETTINGS}/simultaneousRingSettings/simultaneousRingToContact"
            "?target=sip%3Aada%40contoso.com",
            f"{SETTINGS}/unansweredCallSettings/unansweredCallToContact"
            "?target=tel%3A%2B12025550122&ringDelay=15",
        ]
        assert result.requests == 3
        assert result.summary == ("turnOffCallForwarding + simultaneousRingToContact + "
                                  "unansweredCallToContact")

    def test_all_off_is_one_request(self, fake):
        result = push(fake, ForwardingState())
        assert [call["url"] for call in fake.calls] == [f"{SETTINGS}/turnOffCallForwarding"]
        assert (result.requests, result.summary) == (1, "turnOffCallForwarding")

    def test_application_id_is_quoted_and_base_slash_trimmed(self, fake):
        push(fake, ForwardingState(), conn=Connection(base_url=BASE + "/", token="t"),
             app="a/b c")
        assert fake.calls[0]["url"] == (f"{BASE}/applications/a%2Fb%20c/me/"
                                        "callForwardingSettings/turnOffCallForwarding")

    def test_acting_org_id_is_not_a_ucwa_parameter(self, fake):
        push(fake, ForwardingState(),
             conn=Connection(base_url=BASE, token="t", acting_org_id="customer"))
        assert "orgId" not in fake.calls[0]["url"]

    def test_failure_midway_stops_and_counts_requests_sent(self, fake):
        state = ForwardingState(simring_enabled=True, simring_targets=("+12025550111",),
                                no_answer_enabled=True, no_answer_destination="+12025550122")
        fake.answer(fake_http.response(204),
                    fake_http.response(409, {"code": "Conflict", "subcode": "TooManyGroups",
                                             "message": "Too many groups"}))
        with pytest.raises(ProviderError) as info:
            ucwa.UcwaProvider().push(CONN, APP, state)
        assert len(fake.calls) == 2  # the third operation was not attempted
        assert info.value.requests_sent == 2
        assert info.value.permanent is True
        assert info.value.message == f"{SFB} refused: the person belongs to too many groups."

    def test_failure_of_the_first_request(self, fake):
        exc = refused(fake, 401, {"code": "Unauthorized"})
        assert len(fake.calls) == 1
        assert exc.requests_sent == 1


# --- fetch ------------------------------------------------------------------------------------


class TestFetch:
    def fetch(self, fake, body):
        fake.answer(fake_http.response(200, body))
        state = ucwa.UcwaProvider().fetch(CONN, APP)
        (call,) = fake.calls
        assert call["method"] == "GET"
        assert call["url"] == SETTINGS
        assert call["headers"] == AUTH
        return state

    def test_immediate_forward(self, fake):
        state = self.fetch(fake, {"activeSetting": "immediateForward",
                                  "immediateForwardTarget": "tel:+12025550100"})
        assert state == ForwardingState(always_enabled=True, always_destination="+12025550100")

    def test_simultaneous_ring_and_unanswered(self, fake):
        state = self.fetch(fake, {"activeSetting": "simultaneousRing",
                                  "simultaneousRingTarget": "sip:grace@contoso.com",
                                  "unansweredCallEnabled": True,
                                  "unansweredCallTarget": "tel:+12025550122", "ringDelay": 20})
        assert state == ForwardingState(
            simring_enabled=True, simring_targets=("sip:grace@contoso.com",),
            no_answer_enabled=True, no_answer_destination="+12025550122",
            no_answer_ring_after=20)

    def test_unanswered_target_ignored_when_disabled(self, fake):
        state = self.fetch(fake, {"activeSetting": "off", "unansweredCallEnabled": False,
                                  "unansweredCallTarget": "tel:+12025550122", "ringDelay": 20})
        assert state == ForwardingState()

    def test_empty_body_is_all_off(self, fake):
        assert self.fetch(fake, {}) == ForwardingState()

    def test_targets_read_back_in_the_stored_form(self, fake):
        # A server may spell the scheme or host differently from what was sent; the stored
        # form (providers.addresses) lower-cases both and keeps the user part.
        state = self.fetch(fake, {"activeSetting": "immediateForward",
                                  "immediateForwardTarget": "SIP:Ada.Lovelace@Contoso.COM",
                                  "unansweredCallEnabled": True,
                                  "unansweredCallTarget": "TEL:+12025550122", "ringDelay": 30})
        assert state.always_destination == "sip:Ada.Lovelace@contoso.com"
        assert state.no_answer_destination == "+12025550122"


class TestUri:
    @pytest.mark.parametrize("destination, uri", [
        ("+12025550100", "tel:+12025550100"),
        ("2001", "tel:2001"),
        ("sip:ada@contoso.com;transport=tls", "sip:ada@contoso.com;transport=tls"),
        ("sips:ada@contoso.com", "sips:ada@contoso.com"),  # never "sip:sips:..."
    ])
    def test_to_uri_and_back(self, destination, uri):
        assert ucwa.to_uri(destination) == uri
        assert ucwa.from_uri(uri) == destination


# --- errors -----------------------------------------------------------------------------------


class TestErrors:
    @pytest.mark.parametrize("status, subcode, words", [
        (403, None, f"{SFB} refused: this person is not enabled for Enterprise Voice, or the "
                    "administrator has disabled call forwarding to custom numbers."),
        (403, "Unexpected", f"{SFB} refused: this person is not enabled for Enterprise Voice, "
                            "or the administrator has disabled call forwarding to custom "
                            "numbers."),
        (409, "AlreadyExists", f"{SFB} refused: this forwarding already exists."),
        (409, "TooManyGroups", f"{SFB} refused: the person belongs to too many groups."),
        (409, None, f"{SFB} refused: the server does not support this operation."),
        (410, "CannotRedirect", f"{SFB} cannot redirect calls: no backup pool is configured."),
        (410, None, f"{SFB} refused the request (410)."),
        (401, None, f"{SFB} refused the portal's credentials; an admin must reconnect."),
        (404, None, f"{SFB} does not know this person's application."),
    ])
    def test_seed_errors_are_permanent_in_a_persons_words(self, fake, status, subcode, words):
        body = {"code": "X", "message": "internal: {\"stack\": 1}"}
        if subcode:
            body["subcode"] = subcode
        exc = refused(fake, status, body)
        assert exc.permanent is True
        assert exc.status_code == status
        assert exc.retry_after is None
        assert exc.message == words
        assert "stack" not in exc.message

    def test_400_parameter_validation_names_the_detail(self, fake):
        body = {"code": "BadRequest", "subcode": "ParameterValidationFailure",
                "message": "The target exceeds 80 characters"}
        exc = refused(fake, 400, body)
        assert exc.permanent is True
        assert exc.message == f"{SFB} refused a destination: The target exceeds 80 characters."
        assert "subcode" not in exc.message and "subcode" in exc.raw

    @pytest.mark.parametrize("message", [{"text": "The target is too long"}, ["x"], 80])
    def test_400_message_that_is_not_a_string_is_left_out(self, fake, message):
        body = {"code": "BadRequest", "subcode": "ParameterValidationFailure",
                "message": message}
        exc = refused(fake, 400, body)
        assert exc.message == f"{SFB} refused a destination."

    def test_500_callback_channel_is_transient(self, fake):
        exc = refused(fake, 500, {"code": "ServiceFailure", "subcode": "CallbackChannelError"})
        assert exc.permanent is False
        assert exc.status_code == 500
        assert exc.message == f"{SFB} could not reach its event channel."

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_5xx_is_transient_and_shows_no_body(self, fake, status):
        exc = refused(fake, status, {"code": "ServiceFailure", "message": "boom {x}"},
                      headers={"Retry-After": "7"})
        assert exc.permanent is False
        assert exc.retry_after == 7.0
        assert exc.message == f"{SFB} had a problem ({status})."

    def test_429_with_retry_after_date(self, fake):
        later = email.utils.formatdate(time.time() + 60, usegmt=True)
        exc = refused(fake, 429, {"code": "TooManyRequests"}, headers={"Retry-After": later})
        assert exc.permanent is False
        assert 55 <= exc.retry_after <= 60
        assert exc.message == f"{SFB} refused the request (429)."

    def test_423_is_transient(self, fake):
        exc = refused(fake, 423, headers={"Retry-After": "3"})
        assert (exc.permanent, exc.status_code, exc.retry_after) == (False, 423, 3.0)

    def test_non_json_error_body(self, fake):
        exc = refused(fake, 403, text="<html>Forbidden</html>")
        assert exc.permanent is True
        assert "<html>" not in exc.message

    def test_timeout_and_connection_error_are_transient(self, fake):
        fake.answer(requests.ConnectTimeout("connect timed out"))
        with pytest.raises(ProviderError) as info:
            ucwa.UcwaProvider().push(CONN, APP, ALWAYS)
        assert (info.value.permanent, info.value.status_code) == (False, None)
        assert info.value.message == f"{SFB} did not answer in time."
        assert info.value.requests_sent == 1

        fake.answer(requests.ConnectionError("connection refused"))
        with pytest.raises(ProviderError) as info:
            ucwa.UcwaProvider().fetch(CONN, APP)
        assert (info.value.permanent, info.value.status_code) == (False, None)
        assert info.value.message == f"{SFB} could not be reached."


# --- the target length limit (seed 000: at most 80 characters, tel:/sip: URI) ------------------


class TestTargetLimit:
    @pytest.mark.parametrize("destination", [
        "+12025550100", "2001", "sip:ada@contoso.com", "sip:ada@contoso.com;transport=tls",
    ])
    def test_the_capability_counts_what_to_uri_sends(self, destination):
        assert UCWA.destination_wire_length(destination) == len(ucwa.to_uri(destination))

    def test_a_number_counts_the_tel_prefix(self):
        assert UCWA.destination_length_problem("1" * 76) is None  # tel: + 76 = 80
        problem = UCWA.destination_length_problem("1" * 77)
        assert problem == (f"Use at most 80 characters ({SFB}'s limit, counting the tel: it "
                           "puts before a number); this one has 81.")

    def test_only_ucwa_has_a_documented_limit(self):
        assert UCWA.destination_max_length == 80 and UCWA.destination_limit_documented
        for caps in (WEBEX, GRAPH, LYNC):
            assert caps.destination_max_length == PORTAL_DESTINATION_MAX_LENGTH
            assert not caps.destination_limit_documented
            assert caps.destination_wire_length("+12025550100") == 12
            assert caps.label in caps.destination_length_problem("1" * 201)
