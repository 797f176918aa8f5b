"""The Connection page: who sees it, what it shows (never a secret), its 24-hour charts
and their text equivalent, and the banner that sends admins to it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forwarding.calltime import selectors as call_selectors
from forwarding.models import CallRecord
from portal import audit
from portal.audit import Actor, Event
from portal.connections import chart, notices, selectors, services
from portal.context_processors import _banners, navigation
from portal.models import ConnectionState, Membership, ProviderConnection
from providers import oauth
from tests.cast import make_person, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 15, 40, tzinfo=UTC)


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return admin_user


def connect_webex(org, user, **token):
    fields = {"access_token": "access-Zq7-secret", "expires_in": 13 * 86400 + 600,
              "refresh_token": "refresh-Zq7-secret", "refresh_token_expires_in": 89 * 86400 + 600,
              "scope": "spark-admin:people_read spark-admin:people_write", **token}
    return services._connected(org, oauth.TokenSet(**fields), actor=Actor.for_user(user),
                               method="oauth_code", client_id="portal-webex")


def page(client, org):
    response = client.get(reverse("connection", args=[org.id]))
    assert response.status_code == 200
    return response.content.decode()


def text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- who -------------------------------------------------------------------------------------


def test_an_admin_without_totp_is_sent_to_set_it_up(client, org):
    user = make_user(org=org, role=Membership.ADMIN)
    client.force_login(user)
    response = client.get(reverse("connection", args=[org.id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_a_partner_acting_for_the_customer_does_not_see_its_connection(
        client, org, partner_admin, delegation):
    client.force_login(partner_admin)
    assert client.get(reverse("connection", args=[org.id])).status_code == 404
    # ... and is not offered the link on the customer's people page.
    people = client.get(reverse("org_people", args=[org.id])).content.decode()
    assert reverse("connection", args=[org.id]) not in people


def test_the_org_pages_link_to_it(client, org, admin):
    url = reverse("connection", args=[org.id])
    assert url in client.get(reverse("org_people", args=[org.id])).content.decode()
    assert url in client.get(reverse("org_settings", args=[org.id])).content.decode()


# --- what ------------------------------------------------------------------------------------


def test_a_connected_webex_org_shows_its_facts_and_no_secret(client, org, admin_user, admin):
    connect_webex(org, admin_user)
    ProviderConnection.objects.filter(org=org).update(
        last_success_at=timezone.now() - timedelta(minutes=3),
        last_error="Webex answered HTTP 503.", last_error_at=timezone.now())
    html = page(client, org)
    words = text(html)
    assert "OAuth 2 authorization code with PKCE (Webex integration)" in words
    assert "connected , expires in 13 days" in words
    assert "ends in 89 days" in words
    assert "spark-admin:people_read" in words and "spark-admin:people_write" in words
    assert "(3 minutes ago)" in words
    assert "Webex answered HTTP 503." in words
    assert f"by {admin_user.email}" in words
    assert "Zq7-secret" not in html
    assert "Connect again" in words and "Disconnect" in words


def test_needs_reauthorization_offers_reconnect(client, org, admin_user, admin):
    conn = connect_webex(org, admin_user)
    notices.needs_reauthorization(conn, "Webex refused the token request (invalid_grant).")
    words = text(page(client, org))
    assert "needs re-authorization" in words
    assert "Reconnect Webex Calling" in words
    assert "Webex refused the token request (invalid_grant)." in words


def test_a_grant_ending_within_a_week_is_expiring_soon(client, org, admin_user, admin):
    connect_webex(org, admin_user, refresh_token_expires_in=5 * 86400 + 600)
    words = text(page(client, org))
    assert "expiring soon , expires in 13 days" in words
    assert "Grant ends in 5 days unless the portal uses it" in words


def test_an_unconnected_org_offers_to_connect(client, other_org, admin_user, admin):
    Membership.objects.create(user=admin_user, org=other_org, role=Membership.ADMIN)
    other_org.credentials = {}
    other_org.save()
    words = text(page(client, other_org))
    assert "not connected" in words and "Connect Webex Calling" in words
    assert "Disconnect" not in words


def test_a_lync_org_has_nothing_to_connect(client, lync_org, admin_user, admin):
    Membership.objects.create(user=admin_user, org=lync_org, role=Membership.ADMIN)
    html = page(client, lync_org)
    assert "needs no connection" in html and "<svg" not in html


# --- the charts ------------------------------------------------------------------------------


def push_rows(org, at, **counts):
    with time_machine.travel(at, tick=False):
        for event, n in counts.items():
            for _ in range(n):
                audit.record(event=Event(f"push.{event}"), actor=Actor.system("test"),
                             org=org)


def test_pushes_per_hour_come_from_the_audit_log_in_one_query(
        org, other_org, django_assert_num_queries):
    push_rows(org, NOW - timedelta(hours=2, minutes=5), succeeded=3, retrying=1)
    push_rows(org, NOW - timedelta(minutes=1), succeeded=2, failed=1)
    push_rows(org, NOW - timedelta(hours=30), succeeded=7)  # before the chart
    push_rows(other_org, NOW - timedelta(minutes=1), succeeded=5)  # another org
    hours = selectors.chart_hours(NOW)
    assert len(hours) == 24 and hours[-1] == datetime(2026, 11, 27, 15, tzinfo=UTC)
    with django_assert_num_queries(1):
        counts = selectors.push_counts_by_hour(org, hours)
    assert counts[hours[-1]] == {"succeeded": 2, "retried": 0, "failed": 1}
    assert counts[hours[-3]] == {"succeeded": 3, "retried": 1, "failed": 0}
    assert sum(sum(c.values()) for c in counts.values()) == 7


def test_the_push_chart_is_an_accessible_svg_with_a_table(client, org, admin):
    now = timezone.now()
    push_rows(org, now - timedelta(hours=1), succeeded=4, retrying=2, failed=1)
    html = page(client, org)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "Last 24 hours: 4 succeeded, 2 retried, 1 failed; at most 7 in one hour." in svg
    assert svg.count('<rect class="bar ok"') == 1 and svg.count('<rect class="bar err"') == 1
    table = html[html.index('<table class="chart-table">'):]
    hour = (now - timedelta(hours=1)).astimezone(UTC).strftime("%H:00")
    assert re.search(rf"<th scope=\"row\">{hour}</th><td>4</td><td>2</td><td>1</td>", table)
    assert "style=" not in svg  # the Content Security Policy forbids inline styles


def test_stacked_bars_stack_and_scale():
    hours = selectors.chart_hours(NOW)
    values = {h: {"succeeded": 0, "retried": 0, "failed": 0} for h in hours}
    values[hours[5]] = {"succeeded": 6, "retried": 3, "failed": 1}
    c = chart.stacked_bars(title="Pushes", unit="pushes", series=[
        chart.Series("succeeded", "Succeeded", "ok"), chart.Series("retried", "Retried", "warn"),
        chart.Series("failed", "Failed", "err")], hours=hours, values_by_hour=values)
    assert [t["label"] for t in c.ticks] == ["0", "5", "10"]
    ok, warn, err = c.bars
    bottom = chart.HEIGHT - chart.BOTTOM
    assert ok["y"] + ok["height"] == bottom
    assert warn["y"] + warn["height"] == pytest.approx(ok["y"])
    assert err["y"] == pytest.approx(chart.TOP)  # 10 of 10: the top of the plot
    assert not c.empty


def graph_call(org, at, latency_ms, n):
    return CallRecord.objects.create(org=org, provider_call_id=f"c-{n}", api_version="v1.0",
                                     started_at=at, latency_ms=latency_ms)


def test_answer_times_p50_and_p99_per_hour(graph_org):
    base = NOW.replace(minute=10)
    for n, latency in enumerate([100, 200, 300, 400, 1000]):
        graph_call(graph_org, base, latency, n)
    graph_call(graph_org, base - timedelta(hours=1), 50, 99)
    times = call_selectors.answer_times_by_hour(graph_org, NOW - timedelta(hours=23))
    p50, p99, calls = times[NOW.replace(minute=0)]
    assert (p50, calls) == (300, 5)
    assert p99 == pytest.approx(400 + 600 * 0.96)  # percentile_cont's interpolation
    assert times[NOW.replace(minute=0) - timedelta(hours=1)] == (50, 50, 1)
    # The Python fallback (SQLite) ranks the same way.
    assert call_selectors._percentile([100, 200, 300, 400, 1000], 0.99) == pytest.approx(p99)


def test_a_graph_org_charts_answer_times_and_refused_notifications(
        client, graph_org, admin_user, admin):
    Membership.objects.create(user=admin_user, org=graph_org, role=Membership.ADMIN)
    now = timezone.now()
    graph_call(graph_org, now, 120, 1)
    graph_call(graph_org, now, 480, 2)
    notices.count_hour(graph_org.id, refused_notifications=3)
    html = page(client, graph_org)
    assert html.count("<svg") == 2
    assert "Bot answer time (ms)" in html and "Refused notifications" in html
    assert "3 refused" in html
    assert '<polyline' not in html  # one hour of calls: dots, no line yet
    assert html.count('<circle class="dot p50"') == 1


# --- the banner ------------------------------------------------------------------------------


def test_admins_see_a_banner_when_the_connection_needs_them(client, org, admin_user, member):
    conn = connect_webex(org, admin_user)
    client.force_login(admin_user)
    assert "are waiting" not in page(client, org)
    notices.needs_reauthorization(conn, "revoked")
    html = client.get(reverse("org_people", args=[org.id])).content.decode()
    assert (f"Forwarding changes for {org.name} are waiting: <a href=\""
            f"{reverse('connection', args=[org.id])}\">reconnect Webex Calling</a>") in html
    # Members are not bothered with it.
    client.force_login(member)
    assert "are waiting" not in client.get(reverse("my_forwarding")).content.decode()


def test_a_disconnected_org_with_people_shows_the_banner_an_empty_one_not(
        client, org, other_org, admin_user):
    Membership.objects.create(user=admin_user, org=other_org, role=Membership.ADMIN)
    for o in (org, other_org):
        services.connect_static(o, token="t", actor=Actor.for_user(admin_user))
        services.disconnect(o, actor=Actor.for_user(admin_user))
    make_person(org)
    waiting = selectors.orgs_waiting_for(admin_user)
    assert [row[0] for row in waiting] == [org.id]


def test_the_banner_costs_admins_one_query_and_members_none(
        rf, org, admin_user, member, django_assert_num_queries):
    conn = connect_webex(org, admin_user)
    conn.state = ConnectionState.NEEDS_REAUTHORIZATION
    conn.save()
    request = rf.get("/")
    request.user = admin_user
    with CaptureQueriesContext(connection) as queries:
        assert len(navigation(request)["connection_banners"]) == 1
    assert [q["sql"] for q in queries if "providerconnection" in q["sql"]] != []
    with django_assert_num_queries(1):
        _banners(admin_user)
    request.user = member
    with CaptureQueriesContext(connection) as queries:
        assert navigation(request)["connection_banners"] == []
    assert [q["sql"] for q in queries if "providerconnection" in q["sql"]] == []
