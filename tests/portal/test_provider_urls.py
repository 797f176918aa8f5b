"""An organization's provider base URL: https to an allowed host of its provider kind (the
loopback sandbox only in development and tests), checked when the org is saved and again
whenever a provider connection is built, so no token ever goes to another host."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from forwarding.calltime import bot
from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.sync import delivery, ratelimit
from portal.models import Delegation, Organization
from portal.provider_urls import base_url_problem
from providers.base import ProviderError
from tests.cast import make_org, make_person, update

pytestmark = pytest.mark.django_db

METADATA = "http://169.254.169.254/latest/meta-data/"


def _org(kind, url):
    return Organization(name="X", provider_kind=kind, provider_org_id="x", base_url=url,
                        default_region="US")


@pytest.mark.parametrize("kind, url", [
    ("webex", "https://webexapis.com/v1"),
    ("graph", "https://graph.microsoft.com"),
    ("webex", ""),
    ("webex", "http://127.0.0.1:8025/webex/v1"),  # the sandbox, tests allow loopback
    ("ucwa", "http://localhost:8025/ucwa/v1"),
])
def test_allowed_base_urls(kind, url):
    _org(kind, url).full_clean()


@pytest.mark.parametrize("kind, url, says", [
    ("webex", METADATA, "https://"),
    ("webex", "https://169.254.169.254/latest/", "not an allowed host"),
    ("webex", "http://webexapis.com/v1", "https://"),
    ("webex", "https://webexapis.com.evil.example/v1", "not an allowed host"),
    ("webex", "https://graph.microsoft.com/v1", "not an allowed host"),  # another kind's
    ("webex", "https://user:pw@webexapis.com/v1", "user name or password"),
    ("webex", "ftp://webexapis.com/v1", "https://"),
    ("ucwa", "https://10.0.0.5/ucwa/v1", "not an allowed host"),
    ("webex", "https://webexapis.com:99999/v1", "not a valid URL"),
])
def test_refused_base_urls_say_why_next_to_the_field(kind, url, says):
    with pytest.raises(ValidationError) as exc:
        _org(kind, url).full_clean()
    assert says in " ".join(exc.value.message_dict["base_url"])


def test_loopback_is_refused_unless_allowed():
    with override_settings(PROVIDER_ALLOW_LOOPBACK=False):
        for url in ("http://127.0.0.1:8025/webex/v1", "https://[::1]/x", "http://localhost/"):
            assert "loopback" in base_url_problem("webex", url)


def test_configured_hosts_and_subdomains():
    table = {"ucwa": [".contoso.example"], "*": ["proxy.example"]}
    with override_settings(PROVIDER_BASE_URL_ALLOWED_HOSTS=table):
        assert base_url_problem("ucwa", "https://lyncweb.contoso.example/ucwa/v1") is None
        assert base_url_problem("ucwa", "https://contoso.example/ucwa/v1") is None
        assert base_url_problem("ucwa", "https://evilcontoso.example/") is not None
        assert base_url_problem("webex", "https://proxy.example/v1") is None
        assert base_url_problem("webex", "https://webexapis.com/v1") is not None  # replaced


def _push_with(monkeypatch, org_url, *, partner_url=None):
    monkeypatch.setattr(ratelimit, "reserve", lambda org, rate=None, not_before=0.0: (0, True))
    monkeypatch.setattr(ratelimit, "paused_for", lambda org: 0.0)
    org = make_org("webex")
    person = make_person(org)
    with mock.patch("forwarding.sync.outbox.enqueue_push"):
        update(person, busy_enabled=True, busy_destination="2001")
    row = ForwardingSettings.objects.get(person=person)
    if partner_url is not None:
        partner = make_org("webex")
        Delegation.objects.create(customer=org, partner=partner)
        Organization.objects.filter(pk=partner.pk).update(base_url=partner_url)
        ForwardingSettings.objects.filter(pk=row.pk).update(push_via_partner=partner)
    # Written around the model (raw update): the push must still refuse to send.
    Organization.objects.filter(pk=org.pk).update(base_url=org_url)
    with mock.patch("providers.http.TimeoutSession.request",
                    side_effect=AssertionError("a request went out")) as request:
        result = delivery.push(row.pk)
    assert not request.called
    return result, ForwardingSettings.objects.get(pk=row.pk)


@pytest.mark.parametrize("org_url, partner_url", [
    (METADATA, None),
    ("https://internal.corp.example/v1", None),
    ("http://127.0.0.1:8025/webex/v1", METADATA),  # the partner's URL is the one used
])
def test_a_push_to_a_disallowed_host_fails_at_once_and_sends_nothing(monkeypatch, org_url,
                                                                   partner_url):
    result, row = _push_with(monkeypatch, org_url, partner_url=partner_url)
    assert isinstance(result, ProviderError) and result.permanent
    assert row.sync_status == SyncStatus.FAILED
    assert row.last_error.startswith(
        "Not sent: the organization's provider base URL is not allowed.")
    attempt = PushAttempt.objects.get(settings=row)
    assert (attempt.outcome, attempt.requests) == (PushAttempt.PERMANENT, 0)


def test_the_push_is_refused_when_loopback_is_turned_off(monkeypatch):
    with override_settings(PROVIDER_ALLOW_LOOPBACK=False):
        result, row = _push_with(monkeypatch, "http://127.0.0.1:8025/webex/v1")
    assert row.sync_status == SyncStatus.FAILED
    assert "loopback" in row.last_error


def test_graph_redirect_connection_checks_the_host():
    org = make_org("graph")
    Organization.objects.filter(pk=org.pk).update(base_url=METADATA)
    org.refresh_from_db()
    with pytest.raises(ProviderError) as exc:
        bot._connection(org)
    assert exc.value.permanent
    Organization.objects.filter(pk=org.pk).update(base_url="")
    org.refresh_from_db()
    assert bot._connection(org).base_url == "https://graph.microsoft.com"


def test_a_malformed_allow_list_entry_stops_start_up_naming_the_variable():
    from tests.portal.production import run_manage

    result = run_manage("check", env_overrides={
        "PROVIDER_BASE_URL_ALLOWED_HOSTS": "webex=api.example.com,skype=x.example"})
    assert result.returncode != 0
    assert "PROVIDER_BASE_URL_ALLOWED_HOSTS" in result.stderr and "skype" in result.stderr


def test_production_never_allows_loopback():
    import os
    import subprocess
    import sys

    from tests.portal.production import PRODUCTION_ENV, ROOT

    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.PROVIDER_ALLOW_LOOPBACK, s.PROVIDER_BASE_URL_ALLOWED_HOSTS['ucwa'])")
    env = {**os.environ, **PRODUCTION_ENV, "PROVIDER_ALLOW_LOOPBACK": "true",
           "PROVIDER_BASE_URL_ALLOWED_HOSTS": "ucwa=lyncweb.contoso.example"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "['lyncweb.contoso.example']"]
