"""Wall-clock times in people's zones (portal.timezones): a time skipped when clocks go
forward gets a message naming the change, a time that happens twice is read as its first
occurrence with a note, in several zones; the viewer's zone comes from their line or org."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from portal.forms import TimeZoneForm
from portal.middleware import viewer_zone_name
from portal.models import Membership
from portal.timezones import from_local, offset_words, shown, zone
from tests.cast import make_org, make_person, make_user

BERLIN, NEW_YORK = zone("Europe/Berlin"), zone("America/New_York")


class TestGaps:
    @pytest.mark.parametrize(("tz", "naive", "message"), [
        (BERLIN, datetime(2026, 3, 29, 2, 30),
         "02:30 on 29 March 2026 does not exist in Europe/Berlin: clocks go forward from "
         "02:00 to 03:00. Choose a time before 02:00 or from 03:00."),
        (NEW_YORK, datetime(2026, 3, 8, 2, 0),
         "02:00 on 8 March 2026 does not exist in America/New_York: clocks go forward "
         "from 02:00 to 03:00. Choose a time before 02:00 or from 03:00."),
        # Half an hour, not one: the message reads the change from the zone's rules.
        (zone("Australia/Lord_Howe"), datetime(2026, 10, 4, 2, 15),
         "02:15 on 4 October 2026 does not exist in Australia/Lord_Howe: clocks go "
         "forward from 02:00 to 02:30. Choose a time before 02:00 or from 02:30."),
    ])
    def test_a_time_that_does_not_exist_is_refused_with_the_change(self, tz, naive, message):
        with pytest.raises(ValidationError) as caught:
            from_local(naive, tz)
        assert caught.value.messages == [message]

    @pytest.mark.parametrize(("tz", "naive", "utc"), [
        (BERLIN, datetime(2026, 3, 29, 1, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (BERLIN, datetime(2026, 3, 29, 3, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 3, 8, 3, 0), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    ])
    def test_the_edges_of_the_gap_exist(self, tz, naive, utc):
        assert from_local(naive, tz).instant == utc


class TestFolds:
    @pytest.mark.parametrize(("tz", "naive", "utc", "note"), [
        (BERLIN, datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
         "02:30 on 25 October 2026 happens twice in Europe/Berlin: clocks go back from "
         "03:00 to 02:00. The first one was taken (02:30 CEST, UTC+02:00)."),
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
         "01:30 on 1 November 2026 happens twice in America/New_York: clocks go back from "
         "02:00 to 01:00. The first one was taken (01:30 EDT, UTC-04:00)."),
    ])
    def test_a_time_that_happens_twice_is_the_first_with_a_note(self, tz, naive, utc, note):
        local = from_local(naive, tz)
        assert local.instant == utc
        assert local.note == note

    def test_an_ordinary_time_has_no_note(self):
        local = from_local(datetime(2026, 7, 1, 9, 0), BERLIN)
        assert (local.instant, local.note) == (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), "")

    def test_a_value_with_an_offset_is_kept(self):
        aware = datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
        assert from_local(aware, BERLIN).instant is aware


class TestWords:
    def test_shown_is_one_line_with_the_abbreviation(self):
        instant = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert shown(instant, BERLIN) == "Sun 29 Mar 2026 03:30 CEST"
        assert shown(instant, NEW_YORK) == "Sat 28 Mar 2026 21:30 EDT"

    def test_offset_words(self):
        assert offset_words(datetime(2026, 1, 5, tzinfo=NEW_YORK)) == "UTC-05:00"
        assert offset_words(datetime(2026, 1, 5, tzinfo=zone("Asia/Kolkata"))) == "UTC+05:30"
        assert offset_words(datetime(2026, 1, 5, tzinfo=UTC)) == "UTC"


class TestTimeZoneForm:
    def test_a_name_in_the_wrong_case_is_taken_in_the_right_one(self):
        form = TimeZoneForm({"time_zone": " europe/berlin "})
        assert form.is_valid() and form.cleaned_data["time_zone"] == "Europe/Berlin"

    def test_an_unknown_name_is_refused_next_to_the_field(self):
        form = TimeZoneForm({"time_zone": "Mars/Olympus_Mons"})
        assert not form.is_valid()
        assert "Mars/Olympus_Mons is not a time zone" in form.errors["time_zone"][0]

    def test_an_org_needs_one_a_person_may_leave_it_empty(self):
        assert not TimeZoneForm({"time_zone": ""}).is_valid()
        form = TimeZoneForm({"time_zone": ""}, blank_means="America/New_York")
        assert form.is_valid() and form.cleaned_data["time_zone"] == ""
        assert "(America/New_York)" in form.fields["time_zone"].help_text


@pytest.mark.django_db
class TestViewerZone:
    def test_the_line_then_the_org_then_utc(self):
        org = make_org("webex", time_zone="America/New_York")
        member = make_user(org=org, role=Membership.MEMBER)
        person = make_person(org, user=member)
        assert viewer_zone_name(member) == "America/New_York"
        person.time_zone = "Europe/Berlin"
        person.save(update_fields=["time_zone"])
        assert viewer_zone_name(member) == "Europe/Berlin"
        admin = make_user(org=org, role=Membership.ADMIN)  # no line of their own
        assert viewer_zone_name(admin) == "America/New_York"
        assert viewer_zone_name(make_user()) == "UTC"
