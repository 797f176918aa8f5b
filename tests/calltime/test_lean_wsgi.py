"""The Graph webhook through the WSGI application gunicorn serves (portal.wsgi): in front
of Django's handler (portal.leanwsgi), with the middleware above the lean path, the
site's 404 page for an unknown key and Django's answer to an error."""

import io
import json
import logging
from unittest import mock
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from forwarding.models import CallRecord
from portal import wsgi
from portal.leanwsgi import LeanWSGI
from tests.bot_keys import key_server
from tests.calltime.graph_calls import LINE, incoming, url
from tests.cast import make_org, make_person


def call(app, method, path, body=b"", headers=None):
    """(status, headers, body) of one WSGI request."""
    environ = {}
    setup_testing_defaults(environ)
    environ.update({"REQUEST_METHOD": method, "PATH_INFO": path,
                    "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                    "CONTENT_TYPE": "application/json"})
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = status, response_headers

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(started["status"].split()[0]), dict(started["headers"]), content


@pytest.fixture
def org(db):
    org = make_org("graph", graph_api_version="v1.0", base_url="http://127.0.0.1:9/graph")
    make_person(org, name="Ada", number="+12025550101", provider_person_id=LINE)
    return org


@pytest.fixture
def signals():
    """The senders of request_started and request_finished in the test. Django's handler
    closes old connections on both, which would close the test's transaction: off, as
    Django's test client does."""
    sent = []
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def note(sender, **kwargs):
        sent.append(sender)

    request_started.connect(note)
    request_finished.connect(note)
    yield sent
    request_started.disconnect(note)
    request_finished.disconnect(note)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def notify(app, org, body=None, **headers):
    auth = {"Authorization": f"Bearer {key_server().token_for(org)}"}
    data = json.dumps(body or incoming(call_id="call-1")).encode()
    return call(app, "POST", url(org), data, {**auth, **headers})


@pytest.mark.django_db
def test_a_notification_skips_djangos_handler(org, signals):
    with mock.patch("forwarding.calltime.bot.current_app.send_task"):
        status, _headers, _content = notify(wsgi.application, org)
    assert status == 202
    assert CallRecord.objects.get().provider_call_id == "call-1"
    assert signals == []  # no request_started / request_finished work


@pytest.mark.django_db
def test_the_middleware_above_the_lean_path_still_applies(org, settings):
    with mock.patch("forwarding.calltime.bot.current_app.send_task"):
        status, headers, _content = notify(wsgi.application, org)
    assert status == 202
    assert headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware's
    assert "Content-Security-Policy" not in headers  # a middleware below: not run

    settings.SECURE_SSL_REDIRECT = True
    status, headers, _content = notify(LeanWSGI(wsgi.django_application), org)
    assert status == 301 and headers["Location"].startswith("https://")
    assert not CallRecord.objects.filter(provider_call_id="call-2").exists()


@pytest.mark.django_db
def test_an_unknown_key_gets_the_sites_404_page(org, signals):
    status, headers, _content = call(wsgi.application, "POST", "/webhooks/graph/nope/", b"{}")
    assert status == 404
    assert "Content-Security-Policy" in headers  # the whole stack answered
    assert signals  # through Django's handler


@pytest.mark.django_db
def test_other_paths_are_djangos(signals):
    status, _headers, _content = call(wsgi.application, "GET", "/healthz")
    assert status == 200
    assert signals


@pytest.mark.django_db
def test_a_refusal_is_logged_as_django_would(org, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        status, _headers, _content = notify(wsgi.application, org, Authorization="Bearer x")
    assert status == 401
    assert any(record.getMessage().startswith("Unauthorized: /webhooks/graph/")
               for record in caplog.records if record.name == "django.request")


@pytest.mark.django_db
def test_an_error_is_answered_and_logged_as_django_would(org, caplog):
    with mock.patch("forwarding.calltime.bot.notifications_received",
                    side_effect=RuntimeError("boom")), \
            caplog.at_level(logging.ERROR, logger="django.request"):
        status, _headers, _content = notify(wsgi.application, org)
    assert status == 500
    assert any(record.exc_info and "boom" in str(record.exc_info[1])
               for record in caplog.records)


@pytest.mark.django_db
def test_an_error_answer_carries_the_security_headers(org):
    with mock.patch("forwarding.calltime.bot.notifications_received",
                    side_effect=RuntimeError("boom")):
        status, headers, content = notify(wsgi.application, org)
    assert status == 500
    assert headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware's
    assert headers["Referrer-Policy"]
    assert b"boom" not in content  # no traceback for the caller


@pytest.mark.django_db
def test_a_connection_that_failed_is_closed_after_the_request(org, signals):
    """A broken connection must not serve the next notification of this thread; a
    healthy one is kept (no reconnect per call)."""
    from django.db import connection

    connection.ensure_connection()
    before = connection.connection
    with mock.patch("forwarding.calltime.bot.current_app.send_task"):
        assert notify(wsgi.application, org)[0] == 202
    assert connection.connection is before  # healthy: kept

    with mock.patch.object(connection, "in_atomic_block", False), \
            mock.patch("forwarding.calltime.bot.notifications_received",
                       side_effect=RuntimeError("boom")):
        connection.errors_occurred = True
        with mock.patch.object(connection, "is_usable", return_value=False):
            assert notify(wsgi.application, org)[0] == 500
    assert connection.connection is None  # closed, reopened by the next query
