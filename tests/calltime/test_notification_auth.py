"""Graph's signed notifications (issue 14, item 5): the webhook refuses every request whose
bearer token is not Graph's for the org (401, no call record, no audit row, one more
refused notification on the Connection page), and the verifier (providers.bot_tokens)
fetches the keys of the configured OpenID document over real HTTP (tests/bot_keys.py),
picks up a rotation without a restart and re-fetches at most once a minute."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from unittest import mock

import jwt
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.calltime import notification_auth, webhook_orgs
from forwarding.models import CallRecord
from portal.models import AuditEvent, ConnectionHour, ConnectionMethod, ProviderConnection
from providers import bot_tokens
from tests.bot_keys import ISSUER, Key
from tests.calltime.graph_calls import LINE, incoming, post
from tests.cast import make_org, make_person


@pytest.fixture
def org(db):
    return make_org("graph", graph_api_version="v1.0", base_url="http://127.0.0.1:9/graph")


@pytest.fixture
def ada(org):
    return make_person(org, name="Ada", number="+12025550101", provider_person_id=LINE)


@pytest.fixture
def queued():
    with mock.patch("forwarding.calltime.bot.current_app.send_task") as send_task:
        yield send_task


def refused_count(org):
    return sum(ConnectionHour.objects.filter(org=org).values_list(
        "refused_notifications", flat=True))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(claims):
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def assert_refused(client, org, queued, *, token, headers=None):
    before = refused_count(org)
    kwargs = {"token": token}
    if headers is not None:  # a raw Authorization header instead of a token
        kwargs = {"token": None}
    response = post(client, org, incoming(), **kwargs, **(headers or {}))
    assert response.status_code == 401, response.content
    assert response.json() == {"error": "The notification's bearer token is missing or "
                                        "not valid."}
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not CallRecord.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not queued.called
    assert refused_count(org) == before + 1


# --- the webhook -------------------------------------------------------------------------


@pytest.mark.django_db
class TestWebhook:
    def test_a_valid_token_is_redirected_as_today(self, client, org, ada, queued,
                                                  django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, org, incoming()).status_code == 202
        assert CallRecord.objects.get().person == ada
        assert queued.call_args.args[0] == "forwarding.redirect_call"
        assert refused_count(org) == 0

    def test_no_token(self, client, org, ada, queued):
        assert_refused(client, org, queued, token=None)

    @pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b",
                                        "Bearer not-a-jwt", "Bearer a.b.c", "token abc"])
    def test_a_malformed_header(self, client, org, ada, queued, header):
        assert_refused(client, org, queued, token=None,
                       headers={"HTTP_AUTHORIZATION": header})

    def test_an_unknown_kid(self, client, org, ada, queued, notification_keys):
        stranger = Key()  # a key the JWKS does not publish
        assert_refused(client, org, queued,
                       token=notification_keys.token_for(org, key=stranger))

    def test_a_known_kid_with_another_keys_signature(self, client, org, ada, queued,
                                                     notification_keys):
        forged = notification_keys.token_for(
            org, key=Key(), headers={"kid": notification_keys.current.kid})
        assert_refused(client, org, queued, token=forged)

    def test_alg_none(self, client, org, ada, queued, notification_keys):
        assert_refused(client, org, queued,
                       token=unsigned(notification_keys.claims_for(org)))

    def test_hs256_keyed_with_the_public_keys_pem(self, client, org, ada, queued,
                                                  notification_keys):
        key = notification_keys.current
        # PyJWT itself refuses to use a PEM as an HMAC secret: sign by hand.
        signing_input = (f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}."
                         f"{b64(notification_keys.claims_for(org))}")
        mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        assert_refused(client, org, queued, token=token)

    def test_expired(self, client, org, ada, queued, notification_keys):
        now = int(time.time())
        assert_refused(client, org, queued, token=notification_keys.token_for(
            org, iat=now - 3600, nbf=now - 3600, exp=now - 61))

    def test_expired_within_the_leeway_is_accepted(self, client, org, ada, queued,
                                                   notification_keys):
        now = int(time.time())
        token = notification_keys.token_for(org, exp=now - 30, iat=now - 600, nbf=now - 600)
        assert post(client, org, incoming(), token=token).status_code == 202

    def test_not_yet_valid(self, client, org, ada, queued, notification_keys):
        now = int(time.time())
        assert_refused(client, org, queued, token=notification_keys.token_for(
            org, nbf=now + 120, iat=now, exp=now + 900))

    def test_wrong_audience(self, client, org, ada, queued, notification_keys):
        assert_refused(client, org, queued,
                       token=notification_keys.token_for(org, aud="another-bot"))

    def test_another_tenant(self, client, org, ada, queued, notification_keys):
        other = make_org("graph")
        assert_refused(client, org, queued,
                       token=notification_keys.token_for(org, tid=other.provider_org_id))

    def test_wrong_issuer(self, client, org, ada, queued, notification_keys):
        assert_refused(client, org, queued, token=notification_keys.token_for(
            org, iss="https://login.microsoftonline.com/evil/v2.0"))

    @pytest.mark.parametrize("claim", ["exp", "nbf", "tid", "aud", "iss"])
    def test_a_missing_claim(self, client, org, ada, queued, notification_keys, claim):
        assert_refused(client, org, queued,
                       token=notification_keys.token_for(org, **{claim: None}))

    def test_another_orgs_valid_token_on_this_orgs_url(self, client, org, ada, queued,
                                                       notification_keys):
        other = make_org("graph")
        assert_refused(client, org, queued, token=notification_keys.token_for(other))

    def test_the_audience_is_the_orgs_own_app_when_it_has_one(
            self, client, org, ada, queued, notification_keys, settings):
        ProviderConnection.objects.create(org=org, method=ConnectionMethod.CLIENT_CREDENTIALS,
                                          client_id="contoso-bot-app")
        portal_app = notification_keys.token_for(org, aud=settings.MICROSOFT_CLIENT_ID)
        assert_refused(client, org, queued, token=portal_app)
        own = notification_keys.token_for(org, aud="contoso-bot-app")
        assert post(client, org, incoming(), token=own).status_code == 202

    def test_the_keys_cannot_be_fetched(self, client, org, ada, queued, notification_keys):
        notification_keys.failing = True
        assert_refused(client, org, queued, token=notification_keys.token_for(org))

    def test_an_unknown_key_in_the_url_is_still_404(self, client, org, queued):
        response = client.post("/webhooks/graph/not-a-key/", data="{}",
                               content_type="application/json")
        assert response.status_code == 404
        assert refused_count(org) == 0

    def test_the_token_is_checked_before_the_body_is_read(self, client, org, queued):
        # An invalid body with no token: 401, not 400; the parser never ran.
        response = post(client, org, "{not json", token=None)
        assert response.status_code == 401

    def test_a_flood_is_refused_before_its_tokens_are_checked(self, client, org, queued,
                                                               settings):
        settings.GRAPH_WEBHOOK_RATE_PER_ORG = 1
        settings.GRAPH_WEBHOOK_RATE_WINDOW = 1
        statuses = [post(client, org, incoming(), token=None).status_code for _ in range(3)]
        assert statuses[0] == 401 and statuses[-1] == 429

    def test_the_switch_off_accepts_a_notification_without_a_token(
            self, client, org, ada, queued, settings, caplog):
        settings.GRAPH_NOTIFICATION_AUTH = False
        assert post(client, org, incoming(), token=None).status_code == 202
        assert "WITHOUT checking its token" in caplog.text

    def test_a_valid_notification_costs_no_query_more(self, client, org, ada, queued,
                                                       notification_keys):
        token = notification_keys.token_for(org)
        post(client, org, incoming(call_id="warm-up"), token=token)  # keys fetched
        webhook_orgs.forget_webhook_org()  # the org is looked up again, with its connection
        with CaptureQueriesContext(connection) as queries:
            assert post(client, org, incoming(), token=token).status_code == 202
        statements = [q["sql"].split()[0] for q in queries.captured_queries
                      if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert statements == ["SELECT", "WITH"]  # the org (with its connection), the call

    def test_the_calls_clock_starts_before_the_checks(self, client, org, ada, queued):
        # A slow check (the first key fetch of a process) eats into Graph's 15 s: the
        # record's start, from which the deadline is counted, is the request's arrival.
        before = timezone.now()
        with mock.patch.object(notification_auth, "authenticate",
                               side_effect=lambda request, org: time.sleep(0.5)):
            assert post(client, org, incoming()).status_code == 202
        assert CallRecord.objects.get().started_at - before < timedelta(seconds=0.4)

    def test_a_rotation_is_picked_up_without_a_restart(self, client, org, ada, queued,
                                                       notification_keys):
        assert post(client, org, incoming(call_id="c1")).status_code == 202
        notification_keys.rotate(keep_previous=False)
        with time_machine.travel(time.time() + 61, tick=True):
            # A token of the new key: its kid is unknown, so the JWKS is fetched again.
            assert post(client, org, incoming(call_id="c2")).status_code == 202
        assert CallRecord.objects.count() == 2


# --- the verifier ---------------------------------------------------------------------------


def verify(keys, token, **kwargs):
    args = {"audience": "bot-1", "tenant": "tenant-1", "keys": keys, "issuers": [ISSUER],
            "leeway": 60, **kwargs}
    return bot_tokens.verify(token, **args)


def claims(**overrides):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "bot-1", "tid": "tenant-1", "iat": now, "nbf": now,
            "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(server, key=None, **overrides):
    return server.sign(claims(**overrides), key=key)


class TestVerifier:
    def test_valid_claims_come_back(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        got = verify(keys, token(notification_keys))
        assert got["tid"] == "tenant-1" and got["aud"] == "bot-1"

    def test_an_audience_given_as_a_list_must_name_the_bot(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        assert verify(keys, token(notification_keys, aud=["other", "bot-1"]))
        with pytest.raises(bot_tokens.BotTokenError):
            verify(keys, token(notification_keys, aud=["other"]))

    @pytest.mark.parametrize("audience, tenant", [("", "tenant-1"), ("bot-1", "")])
    def test_nothing_to_check_against_refuses(self, notification_keys, audience, tenant):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        with pytest.raises(bot_tokens.BotTokenError, match="no audience or tenant"):
            verify(keys, token(notification_keys, aud="", tid=""), audience=audience,
                   tenant=tenant)

    def test_other_algorithms_fetch_nothing(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        hs = jwt.encode({"aud": "bot-1"}, "secret" * 8, algorithm="HS256",
                        headers={"kid": notification_keys.current.kid})
        for bad in (hs, unsigned({"aud": "bot-1"})):
            with pytest.raises(bot_tokens.BotTokenError, match="is not allowed"):
                verify(keys, bad)
        assert keys.fetches == 0

    def test_keys_are_fetched_once_and_cached(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        for _ in range(5):
            verify(keys, token(notification_keys))
        assert keys.fetches == 1
        assert dict(notification_keys.requests) == {"/v1/.well-known/OpenIdConfiguration": 1,
                                                     "/v1/keys": 1}

    def test_unknown_kids_refetch_at_most_once_a_minute(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        stranger = Key()
        start = time.time()
        with time_machine.travel(start, tick=False) as traveller:
            verify(keys, token(notification_keys))
            with pytest.raises(bot_tokens.BotTokenError, match="unknown key id"):
                verify(keys, notification_keys.sign({}, key=stranger))
            assert keys.fetches == 1  # fetched a moment ago: not again
            traveller.shift(60)
            for _ in range(50):  # a flood of made-up kids
                with pytest.raises(bot_tokens.BotTokenError, match="unknown key id"):
                    verify(keys, notification_keys.sign({}, key=stranger))
            assert keys.fetches == 2  # the first unknown kid fetched; the rest waited
            traveller.shift(59)
            with pytest.raises(bot_tokens.BotTokenError):
                verify(keys, notification_keys.sign({}, key=stranger))
            assert keys.fetches == 2
            traveller.shift(2)
            with pytest.raises(bot_tokens.BotTokenError):
                verify(keys, notification_keys.sign({}, key=stranger))
            assert keys.fetches == 3
        # Only the JWKS was asked again: the document's jwks_uri is kept.
        assert notification_keys.requests["/v1/.well-known/OpenIdConfiguration"] == 1

    def test_a_rotation_within_the_minute_waits_for_it(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        start = time.time()
        with time_machine.travel(start, tick=False) as traveller:
            verify(keys, token(notification_keys))
            notification_keys.rotate(keep_previous=True)
            with pytest.raises(bot_tokens.BotTokenError, match="unknown key id"):
                verify(keys, token(notification_keys))
            traveller.shift(60)
            assert verify(keys, token(notification_keys))
            # The previous key, still published, is still accepted.
            assert verify(keys, token(notification_keys, key=notification_keys.keys[1]))

    def test_a_withdrawn_key_is_refused_after_a_day(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        old = notification_keys.current
        start = time.time()
        with time_machine.travel(start, tick=False) as traveller:
            verify(keys, token(notification_keys))
            notification_keys.rotate(keep_previous=False)
            traveller.shift(24 * 3600)
            with pytest.raises(bot_tokens.BotTokenError, match="unknown key id"):
                verify(keys, token(notification_keys, key=old))

    def test_a_failed_refresh_keeps_the_old_keys(self, notification_keys):
        keys = bot_tokens.KeySource(notification_keys.config_url)
        start = time.time()
        with time_machine.travel(start, tick=False) as traveller:
            verify(keys, token(notification_keys))
            notification_keys.failing = True
            traveller.shift(24 * 3600 + 1)  # stale: a refresh is tried, and fails
            assert verify(keys, token(notification_keys))
            assert keys.fetches == 2

    def test_with_no_keys_yet_a_failed_fetch_is_retried_sooner(self, notification_keys):
        notification_keys.failing = True
        keys = bot_tokens.KeySource(notification_keys.config_url)
        start = time.time()
        with time_machine.travel(start, tick=False) as traveller:
            with pytest.raises(bot_tokens.BotTokenError, match="could not be fetched"):
                verify(keys, token(notification_keys))
            traveller.shift(5)
            with pytest.raises(bot_tokens.BotTokenError, match="could not be fetched"):
                verify(keys, token(notification_keys))
            assert keys.fetches == 1
            notification_keys.failing = False
            traveller.shift(6)
            assert verify(keys, token(notification_keys))
            assert keys.fetches == 2

    @pytest.mark.parametrize("document", [
        b"not json", b"[]", b'{"issuer": "x"}', b'{"jwks_uri": "file:///etc/passwd"}'])
    def test_a_bad_document_refuses_and_does_not_raise_anything_else(self, document):
        with mock.patch("providers.bot_tokens.get_session") as session:
            response = session.return_value.get.return_value
            response.raise_for_status.return_value = None
            response.json.side_effect = lambda: json.loads(document)
            keys = bot_tokens.KeySource("https://keys.invalid/config")
            with pytest.raises(bot_tokens.BotTokenError, match="could not be fetched"):
                keys.key_for("kid")

    def test_a_jwks_without_rsa_signing_keys_refuses(self, notification_keys):
        with mock.patch("providers.bot_tokens.KeySource._get_json", side_effect=[
                {"jwks_uri": "https://keys.invalid/keys"},
                {"keys": [{"kty": "EC", "kid": "e"}, {"kty": "RSA", "use": "enc", "kid": "r"},
                          {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}]}]):
            keys = bot_tokens.KeySource("https://keys.invalid/config")
            with pytest.raises(bot_tokens.BotTokenError, match="could not be fetched"):
                keys.key_for("r")

    def test_one_source_per_document_per_process(self):
        bot_tokens.forget_keys()
        assert bot_tokens.key_source("https://a/") is bot_tokens.key_source("https://a/")
        assert bot_tokens.key_source("https://a/") is not bot_tokens.key_source("https://b/")

    @pytest.mark.parametrize("header, ok", [
        ("Bearer abc.def.ghi", True), ("bearer abc.def.ghi", True), (" Bearer  x ", True),
        (None, False), ("", False), ("Bearer", False), ("Basic abc", False),
        ("Bearer a b", False), ("Bearer " + "a" * 20000, False)])
    def test_the_bearer_header(self, header, ok):
        if ok:
            assert bot_tokens.bearer_token(header)
        else:
            with pytest.raises(bot_tokens.BotTokenError):
                bot_tokens.bearer_token(header)
