"""Times on the pages in people's zones: the time window and the simulator on the
person's wall clock (stored as the right UTC instant, with a message for a time that does
not exist), history and lists in the viewer's zone, and the forms that set the zones."""

import html as html_module
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from forwarding.models import ForwardingSettings
from portal.models import AuditEvent, Membership
from portal.timezones import zone
from tests.cast import make_person, make_user, update
from tests.pages.test_views import assert_page_is_clean, form_data

pytestmark = pytest.mark.django_db


def _zones(org, mia, *, org_zone, person_zone=""):
    org.time_zone = org_zone
    org.save(update_fields=["time_zone"])
    mia.time_zone = person_zone
    mia.save(update_fields=["time_zone"])


def _window(person, start, end):
    return form_data(person, window_enabled=True, window_start=start, window_end=end,
                     window_destination="2001")


class TestWindowInThePersonsZone:
    @pytest.mark.parametrize(("org_zone", "person_zone", "utc_start", "utc_end"), [
        # New York in winter (EST, UTC-5) and in summer (EDT, UTC-4).
        ("America/New_York", "", datetime(2027, 1, 15, 14, 0, tzinfo=UTC),
         datetime(2027, 7, 1, 21, 0, tzinfo=UTC)),
        # Berlin (CET, UTC+1; CEST, UTC+2), the person's own zone over the org's.
        ("America/New_York", "Europe/Berlin", datetime(2027, 1, 15, 8, 0, tzinfo=UTC),
         datetime(2027, 7, 1, 15, 0, tzinfo=UTC)),
    ])
    def test_the_window_is_typed_on_the_persons_wall_clock(
            self, client, org, member, mia, org_zone, person_zone, utc_start, utc_end):
        _zones(org, mia, org_zone=org_zone, person_zone=person_zone)
        client.force_login(member)
        response = client.post(reverse("my_forwarding"),
                               _window(mia, "2027-01-15T09:00", "2027-07-01T17:00"))
        assert response.status_code == 302, response.content.decode()[:500]
        row = ForwardingSettings.objects.get(person=mia)
        assert (row.window_start, row.window_end) == (utc_start, utc_end)
        # And it reads back as typed, with the zone named next to the fields.
        html = client.get(reverse("my_forwarding")).content.decode()
        assert 'value="2027-01-15T09:00"' in html and 'value="2027-07-01T17:00"' in html
        assert f"Times in {person_zone or org_zone}" in html

    def test_an_admin_elsewhere_edits_on_the_persons_clock_and_is_told(
            self, client, org, mia, admin_user):
        _zones(org, mia, org_zone="America/New_York", person_zone="Europe/Berlin")
        client.force_login(admin_user)
        url = reverse("person_forwarding", args=[mia.id])
        html = html_module.unescape(client.get(url).content.decode())
        assert ("Times in Europe/Berlin (Mia Member's time zone; yours is "
                "America/New_York)") in html
        response = client.post(url, _window(mia, "2027-01-15T09:00", "2027-01-15T17:00"))
        assert response.status_code == 302
        assert ForwardingSettings.objects.get(person=mia).window_start == datetime(
            2027, 1, 15, 8, 0, tzinfo=UTC)

    @pytest.mark.parametrize(("zone", "typed", "message"), [
        ("Europe/Berlin", "2027-03-28T02:30",
         "02:30 on 28 March 2027 does not exist in Europe/Berlin: clocks go forward from "
         "02:00 to 03:00."),
        ("America/New_York", "2027-03-14T02:15",
         "02:15 on 14 March 2027 does not exist in America/New_York: clocks go forward "
         "from 02:00 to 03:00."),
    ])
    def test_a_time_that_does_not_exist_is_refused_next_to_the_field(
            self, client, org, member, mia, zone, typed, message):
        _zones(org, mia, org_zone=zone)
        client.force_login(member)
        response = client.post(reverse("my_forwarding"),
                               _window(mia, typed, "2027-12-01T08:00"))
        assert response.status_code == 400
        html = response.content.decode()
        error = re.search(r'id="id_window_start_error">(.*?)</div>', html, re.S)
        assert error and message in error.group(1)
        assert not ForwardingSettings.objects.filter(person=mia, window_enabled=True).exists()
        assert_page_is_clean(response)

    def test_a_time_that_happens_twice_is_the_first_and_the_page_says_so(
            self, client, org, member, mia):
        _zones(org, mia, org_zone="America/New_York")
        client.force_login(member)
        response = client.post(reverse("my_forwarding"),
                               _window(mia, "2027-11-07T01:30", "2027-11-08T09:00"),
                               follow=True)
        assert response.status_code == 200
        row = ForwardingSettings.objects.get(person=mia)
        assert row.window_start == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # EDT
        html = response.content.decode()
        assert ("From: 01:30 on 7 November 2027 happens twice in America/New_York: clocks "
                "go back from 02:00 to 01:00. The first one was taken (01:30 EDT, "
                "UTC-04:00).") in html
        assert "read as the first one" in html  # the help text says the rule beforehand


class TestSimulator:
    def test_at_is_the_persons_wall_clock_and_the_answer_speaks_in_it(
            self, client, org, member, mia):
        _zones(org, mia, org_zone="America/New_York", person_zone="Europe/Berlin")
        update(mia, window_enabled=True, window_destination="2001",
               window_start=datetime(2027, 1, 15, 8, 0, tzinfo=UTC),    # 09:00 in Berlin
               window_end=datetime(2027, 1, 15, 16, 0, tzinfo=UTC))     # 17:00 in Berlin
        client.force_login(member)
        url = reverse("person_test", args=[mia.id])
        inside = client.get(url, {"at": "2027-01-15T09:30", "line_state": "idle"})
        html = inside.content.decode()
        assert "calls at Fri 15 Jan 2027 09:30 CET while" in html
        assert "Time window" in html
        outside = client.get(url, {"at": "2027-01-15T08:30", "line_state": "idle"})
        assert "Time window" not in re.search(
            r"Decided by</dt><dd>(.*?)</dd>", outside.content.decode()).group(1)

    def test_a_time_that_does_not_exist_gets_the_message(self, client, org, member, mia):
        _zones(org, mia, org_zone="Europe/Berlin")
        client.force_login(member)
        response = client.get(reverse("person_test", args=[mia.id]),
                              {"at": "2027-03-28T02:30", "line_state": "idle"})
        assert response.status_code == 400
        assert "does not exist in Europe/Berlin" in response.content.decode()


class TestViewersZone:
    def test_the_audit_log_and_its_filter_are_in_the_admins_zone(self, client, org, mia,
                                                                 admin_user):
        _zones(org, mia, org_zone="Europe/Berlin")
        update(mia, busy_enabled=True, busy_destination="2001")
        at = AuditEvent.objects.get(person=mia).created_at  # the audit log is append-only
        berlin = at.astimezone(zone("Europe/Berlin"))
        client.force_login(admin_user)
        url = reverse("org_audit", args=[org.id])
        html = client.get(url).content.decode()
        assert f"{berlin:%a %d %b %Y %H:%M} {berlin.tzname()}" in html
        # The filter reads the admin's wall clock too (Berlin, not UTC).
        minute = berlin.replace(second=0, microsecond=0, tzinfo=None)
        since, until = minute - timedelta(minutes=1), minute + timedelta(minutes=2)
        found = client.get(url, {"since": f"{since:%Y-%m-%dT%H:%M}",
                                 "until": f"{until:%Y-%m-%dT%H:%M}"}).content.decode()
        assert "Settings changed" in found
        # The same wall-clock minutes read as UTC would miss it (Berlin is ahead of UTC).
        as_utc = minute.replace(tzinfo=UTC)
        assert not (as_utc - timedelta(minutes=1) <= at < as_utc + timedelta(minutes=2))


class TestSettingZones:
    def test_an_admin_sets_the_orgs_zone(self, client, org, admin_user):
        client.force_login(admin_user)
        page = client.get(reverse("org_settings", args=[org.id])).content.decode()
        assert '<datalist id="zone-names">' in page and 'list="zone-names"' in page
        response = client.post(reverse("org_time_zone", args=[org.id]),
                               {"time_zone": "america/new_york"})
        assert response.status_code == 302
        org.refresh_from_db()
        assert org.time_zone == "America/New_York"
        event = AuditEvent.objects.get(event="organization.updated")
        assert (event.old, event.new, event.actor) == (
            {"time_zone": "UTC"}, {"time_zone": "America/New_York"}, admin_user)

    def test_a_bad_org_zone_is_refused_next_to_the_field(self, client, org, admin_user):
        client.force_login(admin_user)
        response = client.post(reverse("org_time_zone", args=[org.id]),
                               {"time_zone": "Europe/Atlantis"})
        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(r'id="id_time_zone_error"[^>]*>.*Europe/Atlantis is not a time '
                         r'zone', html, re.S)
        org.refresh_from_db()
        assert org.time_zone == "UTC"
        assert not AuditEvent.objects.filter(event="organization.updated").exists()
        assert_page_is_clean(response)

    def test_a_person_sets_their_own_zone_and_clears_it(self, client, org, member, mia):
        client.force_login(member)
        url = reverse("person_time_zone", args=[mia.id])
        assert client.post(url, {"time_zone": "Europe/Berlin"}).status_code == 302
        mia.refresh_from_db()
        assert mia.time_zone == "Europe/Berlin"
        event = AuditEvent.objects.get(event="person.time_zone_changed")
        assert (event.person, event.old, event.new) == (
            mia, {"time_zone": ""}, {"time_zone": "Europe/Berlin"})
        html = client.get(reverse("my_forwarding")).content.decode()
        assert "<dt>Time zone</dt><dd>Europe/Berlin ·" in html
        assert client.post(url, {"time_zone": ""}).status_code == 302
        mia.refresh_from_db()
        assert (mia.time_zone, mia.zone_name) == ("", "UTC")

    def test_a_bad_person_zone_is_refused_next_to_the_field(self, client, member, mia):
        client.force_login(member)
        response = client.post(reverse("person_time_zone", args=[mia.id]),
                               {"time_zone": "Berlin"})
        assert response.status_code == 400
        assert "Berlin is not a time zone" in response.content.decode()
        mia.refresh_from_db()
        assert mia.time_zone == ""
        assert not AuditEvent.objects.filter(event="person.time_zone_changed").exists()

    def test_an_admin_sets_anyones_zone_a_stranger_cannot(self, client, org, admin_user):
        bob = make_person(org, name="Bob")
        client.force_login(admin_user)
        url = reverse("person_time_zone", args=[bob.id])
        assert client.post(url, {"time_zone": "Asia/Tokyo"}).status_code == 302
        bob.refresh_from_db()
        assert bob.time_zone == "Asia/Tokyo"
        other = make_user(org=org, role=Membership.MEMBER)
        client.force_login(other)
        assert client.post(url, {"time_zone": "UTC"}).status_code == 404
        bob.refresh_from_db()
        assert bob.time_zone == "Asia/Tokyo"
