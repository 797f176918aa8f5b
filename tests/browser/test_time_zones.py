"""A Berlin person's time window in headless Chromium: the person picks their zone on
their page, types the window on their own wall clock and reads it back the same way,
whatever the browser's or the org's zone; the portal stores the UTC instant.
Screenshots: artifacts/screenshots/time-zone-*.png (1280 and 390 px)."""

from datetime import UTC, datetime

import pytest

from forwarding.models import ForwardingSettings
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

from .test_person_page import both_widths, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def far_browser_page(browser):
    """A browser whose own clock is in Los Angeles: nothing on the page may depend on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  timezone_id="America/Los_Angeles")
    page = context.new_page()
    yield page
    context.close()


def test_a_berlin_persons_window_is_in_berlin_time(far_browser_page, live_server,
                                                    transactional_db):
    page = far_browser_page
    org = make_org("webex", name="Zone Co", time_zone="America/New_York")
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, name="Bert Lin", number="+12025550177")
    signed_in(page, live_server, user)
    page.goto(f"{live_server.url}/me/")

    # The person moves to Berlin: typed in the zone field (the list offers the names).
    zone = page.get_by_label("Time zone", exact=True)
    assert zone.get_attribute("list") == "zone-names"
    zone.fill("Europe/Berlin")
    with page.expect_navigation():
        zone.press("Enter")
    assert page.is_visible("text=Times on this page are now in Europe/Berlin.")
    person.refresh_from_db()
    assert person.time_zone == "Europe/Berlin"

    page.get_by_role("switch", name="Use a time window").check()
    help_text = page.inner_text("#id_window_start_helptext")
    assert help_text.startswith("Times in Europe/Berlin.")
    page.fill("#id_window_start", "2027-01-15T09:00")
    page.fill("#id_window_end", "2027-07-01T17:30")
    page.fill("#id_window_destination", "+1 303 555 0100")
    with page.expect_navigation():
        page.click(".save-bar button[type=submit]")
    assert page.is_visible("text=Saved as version 2")

    row = ForwardingSettings.objects.get(person=person)
    assert row.window_start == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)    # CET, UTC+1
    assert row.window_end == datetime(2027, 7, 1, 15, 30, tzinfo=UTC)     # CEST, UTC+2
    # Read back on the person's wall clock, not New York's, UTC or the browser's.
    assert page.input_value("#id_window_start") == "2027-01-15T09:00"
    assert page.input_value("#id_window_end") == "2027-07-01T17:30"
    summary = page.inner_text("#now-heading + ul")
    assert "Fri 15 Jan 2027 09:00 CET" in summary and "Thu 01 Jul 2027 17:30 CEST" in summary
    page.locator("#section-time_window").scroll_into_view_if_needed()
    both_widths(page, "time-zone-berlin-window")


def test_a_time_that_does_not_exist_is_explained_next_to_the_field(
        far_browser_page, live_server, transactional_db):
    page = far_browser_page
    org = make_org("webex", name="Gap Co", time_zone="Europe/Berlin")
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, name="Gap Person", number="+12025550178")
    signed_in(page, live_server, user)
    page.goto(f"{live_server.url}/me/")
    page.get_by_role("switch", name="Use a time window").check()
    page.fill("#id_window_start", "2027-03-28T02:30")
    page.fill("#id_window_end", "2027-04-01T09:00")
    page.fill("#id_window_destination", "2001")
    with page.expect_navigation():
        page.click(".save-bar button[type=submit]")
    error = page.inner_text("#id_window_start_error")
    assert ("02:30 on 28 March 2027 does not exist in Europe/Berlin: clocks go forward "
            "from 02:00 to 03:00.") in error
    assert not ForwardingSettings.objects.filter(person=person, window_enabled=True).exists()
    both_widths(page, "time-zone-gap-error")
