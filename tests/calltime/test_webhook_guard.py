"""The Graph webhook under hostile or careless senders (forwarding.calltime.guard): bodies
that nest too deeply, bodies too large (with and without Content-Length), floods of one
org's requests, a Redis outage, and the org's secret key kept out of the logs. Every
answer is a 4xx with a short JSON message, and nothing is recorded."""

import json
import logging
import time
from io import BytesIO
from unittest import mock

import pytest
import redis
from django.urls import reverse

from forwarding.calltime import guard
from forwarding.models import CallRecord
from portal.logredact import REDACTED
from tests.calltime.graph_calls import auth_for
from tests.cast import make_org
from tests.sandbox.helpers import load_fixture

CAP = 4096


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    """No count left over from an earlier test or run (org ids repeat across runs)."""
    settings.GRAPH_WEBHOOK_MAX_BYTES = CAP
    guard.reset()
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match="portal:webhook-rate:*"))
        if keys:
            client.delete(*keys)
    yield
    guard.reset()


@pytest.fixture
def org(db):
    return make_org("graph", graph_api_version="v1.0", base_url="http://graph.invalid/graph")


def url(org):
    return reverse("graph_webhook", args=[org.webhook_key])


def follow_up():
    """A terminated notification for a call we never saw: acknowledged (202), nothing
    stored, nothing queued."""
    return json.dumps(load_fixture("graph_v1_ex1_terminated.json")).encode()


def post(client, org, body, **extra):
    return client.post(url(org), data=body, content_type="application/json",
                       **{**auth_for(org), **extra})


def assert_refused(response, status, words):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    message = response.json()["error"]
    assert words in message and len(message) < 120
    assert not CallRecord.objects.exists()


def nested(depth, inner=b"1"):
    return b"[" * depth + inner + b"]" * depth


# --- nesting --------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestNesting:
    @pytest.fixture(autouse=True)
    def _room_for_deep_bodies(self, settings):
        settings.GRAPH_WEBHOOK_MAX_BYTES = 1024 * 1024
    def test_a_body_nested_past_the_interpreters_limit_is_400_not_500(self, client, org):
        # json.loads raised RecursionError here, which nothing caught: a 500.
        assert_refused(post(client, org, nested(100_000)), 400, "nests deeper than 32")

    def test_a_body_nested_past_the_setting_is_400(self, client, org, settings):
        settings.GRAPH_WEBHOOK_MAX_DEPTH = 10
        body = b'{"value": ' + nested(9, b"{}") + b"}"  # 11 levels
        assert_refused(post(client, org, body), 400, "nests deeper than 10")

    def test_an_unbalanced_deep_body_is_400(self, client, org):
        assert_refused(post(client, org, b"{" * 50_000), 400, "nests deeper")

    def test_the_parsers_own_recursion_error_is_a_400_too(self, client, org, settings):
        settings.GRAPH_WEBHOOK_MAX_DEPTH = 10**6  # the scan lets it through
        assert_refused(post(client, org, nested(100_000)), 400, "nests deeper")

    def test_brackets_inside_strings_do_not_count(self, client, org, settings):
        settings.GRAPH_WEBHOOK_MAX_DEPTH = 10
        body = load_fixture("graph_v1_ex1_terminated.json")
        body["value"][0]["resourceData"]["terminationReason"] = '[{"\\' * 40
        assert post(client, org, json.dumps(body).encode()).status_code == 202

    @pytest.mark.parametrize("body, depth", [
        (b"1", 0), (b"[]", 1), (b'{"a": [1, {"b": []}]}', 4), (b'["]]]", "[[[["]', 1),
        (b'["\\"[[["]', 1), (b'[["\\\\"], [[]]]', 3), (b'"[[[', 0), (b"]]][[", 0),
    ])
    def test_nesting_depth(self, body, depth):
        assert guard.nesting_depth(body) == depth

    def test_the_depth_scan_stays_linear_on_hostile_strings(self):
        # An unterminated string full of escaped quotes: a naive string pattern restarts
        # at every quote and takes quadratic time.
        body = b'["' + b'\\"' * 100_000
        started = time.perf_counter()
        assert guard.nesting_depth(body) == 1
        assert time.perf_counter() - started < 0.5


# --- size -----------------------------------------------------------------------------------------


class CountingInput:
    """A wsgi.input that counts what the view reads."""

    def __init__(self, data):
        self.stream = BytesIO(data)
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = self.stream.readline(size)
        self.read_bytes += len(line)
        return line


def post_chunked(client, org, data, **extra):
    """A POST without Content-Length, as gunicorn hands on a chunked body (it ends the
    input stream itself and says so with wsgi.input_terminated)."""
    stream = CountingInput(data)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": url(org),
               "CONTENT_TYPE": "application/json", "wsgi.input": stream,
               "wsgi.input_terminated": True, **auth_for(org), **extra}
    return client.request(**environ), stream


@pytest.mark.django_db
class TestSize:
    def test_a_body_over_the_cap_is_413(self, client, org):
        body = b'{"value": [], "padding": "' + b"x" * CAP + b'"}'
        assert_refused(post(client, org, body), 413, f"larger than {CAP} bytes")

    def test_a_declared_length_over_the_cap_is_413_before_reading(self, client, org):
        # The test client's input holds no byte: reading any would fail the test.
        response = client.generic("POST", url(org), b"", content_type="application/json",
                                  **auth_for(org),
                                  CONTENT_LENGTH=str(CAP + 1))
        assert_refused(response, 413, "larger than")

    def test_a_body_at_the_cap_is_read(self, client, org):
        body = follow_up()
        body = body[:-1] + b" " * (CAP - len(body)) + b"}"
        assert len(body) == CAP
        assert post(client, org, body).status_code == 202

    def test_a_chunked_body_over_the_cap_is_413_after_cap_plus_one_bytes(self, client, org):
        response, stream = post_chunked(client, org, b"[" + b" " * (10 * CAP) + b"]")
        assert_refused(response, 413, "larger than")
        assert stream.read_bytes == CAP + 1

    def test_a_chunked_body_under_the_cap_is_read(self, client, org):
        response, stream = post_chunked(client, org, follow_up())
        assert response.status_code == 202
        assert stream.read_bytes == len(follow_up())

    def test_without_a_terminated_input_a_body_without_length_is_not_read(self, client, org):
        # runserver's input stream has no end: reading it would wait for the client.
        response, stream = post_chunked(client, org, follow_up(),
                                        **{"wsgi.input_terminated": False})
        assert_refused(response, 400, "not valid JSON")
        assert stream.read_bytes == 0

    @pytest.mark.parametrize("length", ["12abc", "-5", " "])
    def test_a_malformed_content_length_is_400(self, client, org, length):
        response = client.generic("POST", url(org), b"", content_type="application/json",
                                  **auth_for(org),
                                  CONTENT_LENGTH=length)
        assert_refused(response, 400, "Content-Length")

    def test_a_cap_above_djangos_own_limit_still_answers_413(self, client, org, settings):
        settings.GRAPH_WEBHOOK_MAX_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE * 2
        response = client.generic("POST", url(org), b"", content_type="application/json",
                                  **auth_for(org),
                                  CONTENT_LENGTH=str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
        assert_refused(response, 413, "larger than")


# --- rate -----------------------------------------------------------------------------------------


def redis_commands():
    """Spy on every command sent to Redis (a pipeline would count once)."""
    return mock.patch.object(redis.Redis, "execute_command", autospec=True,
                             side_effect=redis.Redis.execute_command)


@pytest.mark.django_db
class TestRate:
    @pytest.fixture(autouse=True)
    def _three_per_window(self, settings):
        settings.GRAPH_WEBHOOK_RATE_PER_ORG = 1
        settings.GRAPH_WEBHOOK_RATE_WINDOW = 3

    def test_over_the_rate_is_429_with_retry_after(self, client, org):
        for _ in range(3):
            assert post(client, org, follow_up()).status_code == 202
        response = post(client, org, follow_up())
        assert_refused(response, 429, "Too many requests")
        assert 1 <= int(response["Retry-After"]) <= 3
        # Also before its body is looked at.
        assert post(client, org, b"{not json").status_code == 429

    def test_the_limit_is_per_org(self, client, org):
        other = make_org("graph", graph_api_version="v1.0")
        for _ in range(4):
            post(client, org, follow_up())
        assert post(client, other, follow_up()).status_code == 202

    def test_below_the_rate_a_request_costs_one_redis_command_and_no_wait(
            self, client, org, settings):
        assert settings.REDIS_URL, "the tests run against Redis"
        post(client, org, follow_up())  # the script is loaded into Redis once
        with redis_commands() as commands, mock.patch("time.sleep") as sleep:
            assert post(client, org, follow_up()).status_code == 202
            assert post(client, org, follow_up()).status_code == 202
        assert [call.args[1] for call in commands.call_args_list] == ["EVALSHA", "EVALSHA"]
        sleep.assert_not_called()

    def test_the_count_is_shared_through_redis(self, client, org, settings):
        # Another web process counts into the same key: this one sees its requests.
        redis.Redis.from_url(settings.REDIS_URL).set(f"portal:webhook-rate:{org.pk}", 3,
                                                     px=3000)
        assert post(client, org, follow_up()).status_code == 429

    def test_a_counter_that_lost_its_expiry_gets_one_again(self, client, org, settings):
        server = redis.Redis.from_url(settings.REDIS_URL)
        server.set(f"portal:webhook-rate:{org.pk}", 1)  # no expiry
        post(client, org, follow_up())
        assert 0 < server.pttl(f"portal:webhook-rate:{org.pk}") <= 3000

    def test_redis_down_lets_calls_through_and_is_asked_again_later(
            self, client, org, settings, caplog):
        settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
        with mock.patch.object(guard, "_count_in_redis",
                               wraps=guard._count_in_redis) as asked, \
                caplog.at_level(logging.WARNING, logger="forwarding.calltime.guard"):
            for _ in range(3):
                assert post(client, org, follow_up()).status_code == 202
            # Counted in this process meanwhile: a flood is still refused.
            assert post(client, org, follow_up()).status_code == 429
        assert asked.call_count == 1  # one failed attempt, then not again for a while
        warnings = [r for r in caplog.records if r.name == "forwarding.calltime.guard"]
        assert len(warnings) == 1 and "Redis did not answer" in warnings[0].getMessage()
        # Once the pause is over, Redis is asked again.
        guard._redis_down_until = time.monotonic()
        with mock.patch.object(guard, "_count_in_redis",
                               return_value=(1, 3.0)) as asked_again:
            assert post(client, org, follow_up()).status_code == 202
        asked_again.assert_called_once()

    def test_zero_turns_the_limit_off(self, client, org, settings):
        settings.GRAPH_WEBHOOK_RATE_PER_ORG = 0
        with redis_commands() as commands:
            for _ in range(5):
                assert post(client, org, follow_up()).status_code == 202
        assert commands.call_count == 0


# --- logs -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_key_never_reaches_a_log_record(client, org, settings, caplog):
    settings.GRAPH_WEBHOOK_RATE_PER_ORG = 1
    settings.GRAPH_WEBHOOK_RATE_WINDOW = 3
    key = org.webhook_key
    server_log = logging.getLogger("django.server")  # runserver's access log
    server_log.addHandler(caplog.handler)  # it does not propagate to the root logger
    with caplog.at_level(logging.INFO):
        statuses = [
            post(client, org, b"{not json").status_code,
            post(client, org, nested(100)).status_code,
            client.generic("POST", url(org), b"", content_type="application/json",
                                  **auth_for(org),
                           CONTENT_LENGTH=str(CAP + 1)).status_code,
            client.get(url(org)).status_code,
            post(client, org, follow_up()).status_code,
        ]
        try:
            server_log.info('"%s" %s %s', f"POST {url(org)} HTTP/1.1", "202", "0")
        finally:
            server_log.removeHandler(caplog.handler)
    assert statuses == [400, 400, 413, 405, 429]
    messages = [record.getMessage() for record in caplog.records]
    assert f"Bad Request: /webhooks/graph/{REDACTED}/" in messages
    assert f"Too Many Requests: /webhooks/graph/{REDACTED}/" in messages
    assert f'"POST /webhooks/graph/{REDACTED}/ HTTP/1.1" 202 0' in messages
    assert not [m for m in messages if key in m]
    assert key not in caplog.text
