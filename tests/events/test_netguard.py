"""Where endpoints may point: https on public addresses, refused otherwise, both when an
admin saves the URL and against the address actually connected to when sending."""

import socket

import pytest

from portal.events import delivery, netguard
from portal.events.services import EndpointError, clean_url
from portal.models import EventEndpoint, OutgoingEvent


def fixed(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("address, words", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.9", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "metadata"),
    ("169.254.10.10", "link-local"), ("fe80::1", "link-local"), ("fd00:ec2::254", "metadata"),
    ("fc00::5", "private"), ("100.64.0.1", "not a public"), ("0.0.0.0", "private"),  # noqa: S104
    ("224.0.0.1", "not a public"), ("::ffff:127.0.0.1", "loopback"),
    ("240.0.0.1", "private"),
])
def test_non_public_addresses_are_refused_with_their_kind(address, words):
    assert words in netguard.address_problem(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "8.8.8.8"])
def test_public_addresses_pass(address):
    assert netguard.address_problem(address) is None


@pytest.mark.parametrize("url, words", [
    ("http://hooks.example.com/x", "https://"),
    ("ftp://hooks.example.com/x", "https://"),
    ("https://user:pw@hooks.example.com/x", "passwords"),
    ("https:///nohost", "valid URL"),
    ("https://hooks.example.com:99999/", "valid URL"),
    ("", "Enter"),
    ("https://hooks.example.com/" + "a" * 500, "500 characters"),
])
def test_urls_of_the_wrong_shape_are_refused(url, words):
    assert words in netguard.url_problem(url, allow_insecure=False, resolver=fixed("8.8.8.8"))


def test_a_host_resolving_to_any_private_address_is_refused():
    problem = netguard.url_problem("https://hooks.example.com/x", allow_insecure=False,
                                   resolver=fixed("8.8.8.8", "10.0.0.7"))
    assert problem == ("hooks.example.com resolves to 10.0.0.7: a private address. Events go "
                       "to public addresses only.")
    assert netguard.url_problem("https://hooks.example.com/x", allow_insecure=False,
                                resolver=fixed("8.8.8.8")) is None


def test_a_host_that_does_not_resolve_is_refused():
    def nowhere(host, port):
        raise socket.gaierror("no such host")

    assert "could not be resolved" in netguard.url_problem(
        "https://nowhere.invalid/", allow_insecure=False, resolver=nowhere)


def test_literal_loopback_and_metadata_urls_are_refused_by_the_service(settings):
    settings.EVENTS_ALLOW_INSECURE_URLS = False
    for url in ("https://127.0.0.1/hook", "https://[::1]/hook", "https://169.254.169.254/",
                "https://localhost:8443/hook"):
        with pytest.raises(EndpointError) as refused:
            clean_url(url)
        assert refused.value.field == "url"


def test_development_settings_let_the_sandbox_through(settings):
    settings.EVENTS_ALLOW_INSECURE_URLS = True
    assert clean_url(" http://127.0.0.1:8025/events/demo ") == \
        "http://127.0.0.1:8025/events/demo"


@pytest.mark.django_db
def test_sending_refuses_a_name_that_now_resolves_to_loopback(settings, sandbox, acme):
    """DNS rebinding: the URL was accepted (as if public) when saved, but at send time its
    name leads to 127.0.0.1. The connected address is checked: nothing reaches it."""
    settings.EVENTS_ALLOW_INSECURE_URLS = False
    org, _admin = acme
    port = sandbox.url.rsplit(":", 1)[1]
    endpoint = EventEndpoint.objects.create(
        org=org, url=f"https://localhost:{port}/events/rebind",
        secrets={"current": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    event = OutgoingEvent.objects.create(message_id="msg_rebind", org=org, type="test",
                                         body="{}")
    outcome = delivery.send(endpoint, event)
    assert not outcome.ok
    assert "loopback" in outcome.error
    assert sandbox.control("GET", "events/rebind", expect=200).json()["received"] == []
