"""History and audit log in people's words: labels from the one registry, delivery
outcomes folded into the change they delivered (with the reason of a failure), technical
ids behind a "Details" disclosure, times in the viewer's time zone."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from forwarding.rules import history
from portal import audit
from portal.models import AuditEvent, Membership
from tests.cast import make_org, make_person, make_user, update

SYSTEM = audit.Actor.system("delivery")


def outcome(person, code, version, **data):
    return audit.record(event=code, actor=SYSTEM, person=person,
                        data={"version": version, "tracking_id": "TRK-123", "attempt": 77,
                              **data})


def visible_text(html):
    """What a reader sees without opening a disclosure: the page minus tags, minus the
    <details> contents and the <select> options' values."""
    html = re.sub(r"<(details|select).*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


RAW_CODE = re.compile(r"\b(forwarding|push|drift|bulk|call|connection)\.[a-z_]+\b")


@pytest.mark.django_db
class TestFoldedOutcomes:
    def test_history_folds_delivery_into_the_change_and_hides_ids(self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        update(mia, busy_destination="2002")
        outcome(mia, audit.Event.PUSH_RETRYING, 3, error="Webex Calling did not answer")
        outcome(mia, audit.Event.PUSH_SUCCEEDED, 2)
        outcome(mia, audit.Event.PUSH_FAILED, 3, error="Webex refused the number")
        client.force_login(member)
        html = client.get(reverse("person_history", args=[mia.id])).content.decode()
        text = visible_text(html)
        # Two changes, two rows (+ header): the outcomes are no rows of their own.
        assert html.count("<tr>") == 3
        assert re.search(r"Delivered to Webex Calling at \d\d:\d\d", text)
        assert "Not delivered to Webex Calling: Webex refused the number" in text
        assert "did not answer" not in text  # the latest outcome of version 3 counts
        assert not RAW_CODE.search(text), RAW_CODE.search(text)
        assert "Settings changed" in text
        # The ids are behind the disclosure.
        assert "TRK-123" not in text and "TRK-123" in html
        event = AuditEvent.objects.filter(person=mia, event="forwarding.updated").first()
        assert event.correlation_id not in text and event.correlation_id in html
        assert "<summary>Details</summary>" in html

    def test_filtering_for_an_outcome_shows_it_with_its_reason(self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        outcome(mia, audit.Event.PUSH_FAILED, 2, error="Webex refused the number")
        client.force_login(member)
        html = client.get(reverse("person_history", args=[mia.id]),
                          {"event": "push.failed"}).content.decode()
        text = visible_text(html)
        assert "Delivery failed" in text
        assert "Version 2: Not delivered to Webex Calling: Webex refused the number" in text
        assert "Settings changed" not in text

    def test_org_audit_uses_labels_and_folds_outcomes(self, client, admin_user, org, mia):
        update(mia, always_enabled=True, always_destination="+13035550100")
        outcome(mia, audit.Event.PUSH_SUCCEEDED, 2)
        client.force_login(admin_user)
        html = client.get(reverse("org_audit", args=[org.id])).content.decode()
        text = visible_text(html)
        assert re.search(r"Delivered to Webex Calling at \d\d:\d\d", text)
        assert "Delivered to the provider" not in text  # no row of its own
        assert not RAW_CODE.search(text), RAW_CODE.search(text)
        assert "correlation" not in text.lower()


@pytest.mark.django_db
class TestTimeZones:
    def test_a_moment_is_one_line_with_the_zones_abbreviation(self):
        summer = datetime(2024, 7, 1, 9, 42, tzinfo=UTC)
        assert history.moment(summer, ZoneInfo("Europe/London")).text == \
            "Mon 01 Jul 2024 10:42 BST"
        winter = datetime(2024, 1, 15, 9, 42, tzinfo=UTC)
        assert history.moment(winter, ZoneInfo("America/New_York")).text == \
            "Mon 15 Jan 2024 04:42 EST"

    def test_history_shows_times_in_the_viewers_zone(self, client, org, member, mia,
                                                    admin_user):
        """The same event reads on each viewer's wall clock: Mia's own zone for her, the
        admin's org's zone (they have no line) for the admin."""
        org.time_zone = "America/New_York"
        org.save(update_fields=["time_zone"])
        mia.time_zone = "Europe/London"
        mia.save(update_fields=["time_zone"])
        update(mia, busy_enabled=True, busy_destination="2001")
        event = AuditEvent.objects.filter(person=mia).latest("id")
        url = reverse("person_history", args=[mia.id])
        when = r'<time class="when" datetime="[^"]+">\w{3} \d\d \w{3} \d{4} \d\d:\d\d (%s)</time>'

        client.force_login(member)
        html = client.get(url).content.decode()
        assert re.search(when % "GMT|BST", html)
        london = history.moment(event.created_at, ZoneInfo("Europe/London")).text
        assert london in html

        client.force_login(admin_user)
        html = client.get(url).content.decode()
        assert re.search(when % "EST|EDT", html)
        assert history.moment(event.created_at, ZoneInfo("America/New_York")).text in html
        assert london not in html


# --- example numbers follow the org's region ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("region", "example"), [
    ("GB", "+44 121 234 5678, or national: 0121 234 5678"),
    ("DE", "+49 30 123456, or national: 030 123456"),
])
def test_help_text_shows_an_example_number_of_the_orgs_region(client, region, example):
    org = make_org("webex", default_region=region)
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, number="+442079460000")
    client.force_login(user)
    html = client.get(reverse("person_forwarding", args=[person.id])).content.decode()
    assert example in html
    assert "202 555 0100" not in html
