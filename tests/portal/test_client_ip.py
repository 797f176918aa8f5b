"""The client's address (portal.clientip): forged X-Forwarded-For entries are not
believed, the configured number of proxies picks the hop, anything that is not an
address never reaches PostgreSQL's `inet` column, and allauth's login rate limits key on
the same address as the audit rows."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from forwarding.models import ForwardingSettings
from portal import audit
from portal.adapters import PortalAccountAdapter
from portal.clientip import clean_ip, client_ip
from portal.models import AuditEvent
from tests.cast import make_user

PROXY = "10.0.0.2"  # REMOTE_ADDR: the proxy nearest to us
CLIENT = "198.51.100.7"
FORGED = "6.6.6.6"


def save_forwarding(client, member, **meta):
    """An audited write through the person's own page, as the browser sends it; the
    audit row it wrote (or None)."""
    person = member.people.get()
    client.force_login(member)
    version = ForwardingSettings.objects.filter(person=person).values_list(
        "version", flat=True).first() or 1
    meta.setdefault("REMOTE_ADDR", PROXY)
    response = client.post(reverse("my_forwarding"), {
        "version": version, "always_enabled": "on", "always_destination": "(202) 555-0188",
        "caller_rules-TOTAL_FORMS": "0", "caller_rules-INITIAL_FORMS": "0",
        "caller_rules-MIN_NUM_FORMS": "0", "caller_rules-MAX_NUM_FORMS": "1000",
    }, **meta)
    assert response.status_code == 302, response.content.decode()[:500]
    return AuditEvent.objects.filter(person=person, event="forwarding.updated").latest("id")


@pytest.mark.django_db
class TestAuditedWrites:
    def test_without_proxies_a_forged_header_is_ignored(self, client, member):
        event = save_forwarding(client, member, REMOTE_ADDR="203.0.113.9",
                                HTTP_X_FORWARDED_FOR=FORGED)
        assert event.ip == "203.0.113.9"

    def test_behind_one_proxy_the_leftmost_entry_is_not_believed(self, client, member,
                                                                 settings):
        settings.TRUSTED_PROXY_COUNT = 1
        event = save_forwarding(client, member, HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}")
        assert event.ip == CLIENT

    def test_the_proxy_count_picks_the_hop(self, client, member, settings):
        settings.TRUSTED_PROXY_COUNT = 2
        event = save_forwarding(client, member,
                                HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}, 10.0.0.1")
        assert event.ip == CLIENT

    @pytest.mark.parametrize("forwarded, expected", [
        ("198.51.100.7:5678", CLIENT),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("198.51.100.7:99999", PROXY),
        ("not-an-address", PROXY),
        ("unknown", PROXY),
        ("fe80::1%eth0", PROXY),
        ("", PROXY),
    ])
    def test_a_port_or_garbage_never_fails_the_write(self, client, member, settings,
                                                     forwarded, expected):
        # PostgreSQL's inet refuses "198.51.100.7:5678": the write used to be a 500.
        settings.TRUSTED_PROXY_COUNT = 1
        event = save_forwarding(client, member, HTTP_X_FORWARDED_FOR=forwarded)
        assert event.ip == expected

    def test_fewer_entries_than_proxies_falls_back_to_the_peer(self, client, member,
                                                               settings):
        settings.TRUSTED_PROXY_COUNT = 2
        event = save_forwarding(client, member, HTTP_X_FORWARDED_FOR=CLIENT)
        assert event.ip == PROXY

    def test_no_usable_address_at_all_is_recorded_as_none(self, client, member):
        event = save_forwarding(client, member, REMOTE_ADDR="", HTTP_X_FORWARDED_FOR=CLIENT)
        assert event.ip is None


@pytest.mark.parametrize("value, expected", [
    ("192.0.2.1", "192.0.2.1"),
    (" 192.0.2.1 ", "192.0.2.1"),
    ("192.0.2.1:80", "192.0.2.1"),
    ("192.0.2.1:", None),
    ("192.0.2.1:http", None),
    ("::1", "::1"),
    ("[::1]", "::1"),
    ("[::1]:80", "::1"),
    ("[::1]80", None),
    ("[::1", None),
    ("::ffff:192.0.2.1", "::ffff:c000:201"),
    ("192.0.2.256", None),
    ("01.2.3.4", None),
    ("1.2.3.4, 5.6.7.8", None),
    ("", None),
    (None, None),
])
def test_clean_ip(value, expected):
    assert clean_ip(value) == expected


def test_the_audit_module_and_allauth_use_the_one_resolver(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY,
                                   HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}:4321")
    assert audit.client_ip is client_ip
    assert client_ip(request) == PortalAccountAdapter(request).get_client_ip(request) == CLIENT


@pytest.mark.django_db
class TestLoginRateLimits:
    @pytest.fixture(autouse=True)
    def _clear_cache(self):
        # allauth's counters live in the real cache (Redis in tests).
        cache.clear()
        yield
        cache.clear()

    LIMITED = b"Too many failed login attempts"

    def fail_login(self, client, n, forwarded):
        return client.post(reverse("account_login"), {
            "login": f"nobody{n}@example.com", "password": "wrong"},
            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)

    def test_clients_behind_one_proxy_have_their_own_limits(self, client, settings):
        # 20 failures per address per minute (ACCOUNT_RATE_LIMITS); one client rotating
        # forged entries still counts as one, and the next client is not locked out with
        # it (keyed on the proxy's address, everyone behind it shared one bucket).
        settings.TRUSTED_PROXY_COUNT = 1
        for n in range(20):
            response = self.fail_login(client, n, f"203.0.113.{n}, {CLIENT}")
            assert response.status_code == 200 and self.LIMITED not in response.content
        assert self.LIMITED in self.fail_login(client, 20, f"203.0.113.99, {CLIENT}").content
        other = self.fail_login(client, 21, "192.0.2.50")
        assert other.status_code == 200 and self.LIMITED not in other.content

    def test_a_short_header_is_no_server_error(self, client, settings):
        settings.TRUSTED_PROXY_COUNT = 2
        make_user("ann@example.com", password="right-Password-1")
        response = client.post(reverse("account_login"), {
            "login": "ann@example.com", "password": "right-Password-1"},
            REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
        assert response.status_code == 302
