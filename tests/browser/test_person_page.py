"""The person page in headless Chromium: each card's switch reveals its fields; the
Delivery badge turns from Pending to Synced while a real worker pushes to the sandbox,
without a reload; "Compare" shows what it found; the simulator refuses "12ab".
Screenshots at 1280 and 390 px go to artifacts/screenshots/person-*.png."""


import pytest
from django.test import Client

from forwarding.models import ForwardingSettings
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot

pytestmark = pytest.mark.browser

TOKEN = "person-page-webex-token"
PHONE = {"width": 390, "height": 844}


def signed_in(page, live_server, user):
    """Share a Django session with the browser (sign-in itself is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def both_widths(page, name):
    """Screenshots at 1280 and 390 px; the page must not scroll sideways on a phone.
    Scrolled to the end first, so a sticky bar is drawn where it rests."""
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    screenshot(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert overflow <= 0, f"{name}: {overflow} px of sideways scrolling at 390 px"


def webex_person(sandbox, **person):
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": TOKEN, "orgId": "person-page-org", "partnerFor": []})
    org = make_org("webex", name="Person Page Co", provider_org_id="person-page-org",
                   base_url=f"{sandbox.url}/webex/v1", credentials={"token": TOKEN})
    person = make_person(org, provider_person_id="person-page-ada", **person)
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": org.provider_org_id, "personId": person.provider_person_id})
    return org, person


def test_switches_reveal_the_fields_of_their_card(page, live_server, transactional_db):
    org = make_org("webex", name="Switch Co")
    user = make_user(org=org, role=Membership.MEMBER)
    make_person(org, user=user, name="Ada Lovelace", number="+12025550142")
    signed_in(page, live_server, user)
    page.goto(f"{live_server.url}/me/")

    # Everything is off: each card shows its switch only.
    for feature in ("always", "busy", "no_answer", "continuity", "time_window"):
        assert page.is_visible(f"#section-{feature} input[role=switch]")
        assert page.is_hidden(f"#body-{feature}"), feature
    assert page.is_hidden("#id_busy_destination")
    both_widths(page, "person-01-all-off")

    page.get_by_role("switch", name="Forward calls when the line is busy").check()
    assert page.is_visible("#id_busy_destination")
    assert page.is_hidden("#id_always_destination")
    assert page.get_attribute("#section-busy", "class") == "feature-card"
    page.fill("#id_busy_destination", "+1 303 555 0100")
    both_widths(page, "person-02-busy-on")

    # The Save bar stays in sight at the bottom of a long page.
    page.set_viewport_size({"width": 1280, "height": 500})
    page.evaluate("() => window.scrollTo(0, 0)")
    page.locator("#section-always").scroll_into_view_if_needed()
    bar = page.locator(".save-bar").bounding_box()
    assert bar is not None and bar["y"] + bar["height"] <= 500 + 1
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved as version 2.")
    assert page.is_visible("#id_busy_destination")

    # Switched off again: the destination is kept, hidden, and not said to be in use.
    page.get_by_role("switch", name="Forward calls when the line is busy").uncheck()
    assert page.is_hidden("#id_busy_destination")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved as version 3.")
    assert page.is_hidden("#body-busy")
    assert "+1 303 555 0100" not in page.inner_text("#now-heading + ul")
    assert page.csp_violations == []


def test_without_javascript_every_field_is_shown(browser, live_server, transactional_db):
    org = make_org("webex", name="No Script Co")
    user = make_user(org=org, role=Membership.MEMBER)
    make_person(org, user=user, name="Ada Lovelace", number="+12025550142")
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    signed_in(page, live_server, user)
    page.goto(f"{live_server.url}/me/")
    assert page.is_visible("#id_busy_destination") and page.is_visible("#id_always_destination")
    # Every card that is off says so (one per switch).
    switches = page.locator("input[role=switch]").count()
    assert switches >= 5 and page.locator("[data-off-note]:visible").count() == switches
    context.close()


def test_the_delivery_badge_turns_synced_and_compare_says_it_matches(
        page, live_server, sandbox, make_worker):
    org, person = webex_person(sandbox, name="Ada Lovelace", number="+12025550142")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    signed_in(page, live_server, admin)
    page.goto(f"{live_server.url}/people/{person.id}/")
    page.get_by_role("switch", name="Forward all calls").check()
    page.fill("#id_always_destination", "+1 303 555 0100")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved as version 2.")
    # No worker yet: the change waits in the outbox.
    assert page.inner_text("#delivery .badge") == "Pending"
    page.evaluate("() => { window.__notReloaded = true; }")
    both_widths(page, "person-03-pending")

    make_worker("person-page", concurrency=1)
    page.wait_for_function(
        "() => document.querySelector('#delivery .badge').textContent === 'Synced'",
        timeout=60_000)
    assert page.evaluate("() => window.__notReloaded === true"), "the page was reloaded"
    assert page.get_attribute("#delivery", "data-settled") == "true"
    assert "Last delivered to Webex Calling" in page.inner_text("#delivery")

    page.get_by_role("button", name="Compare with Webex Calling now").click()
    page.wait_for_function(
        "() => /^Checked at \\d\\d:\\d\\d \\S+: matches Webex Calling\\.$/"
        ".test(document.querySelector('#delivery [data-compare]').textContent)",
        timeout=30_000)
    assert page.evaluate("() => window.__notReloaded === true"), "the page was reloaded"
    assert ForwardingSettings.objects.get(person=person).drift_checked_at is not None
    both_widths(page, "person-04-synced-compared")
    assert page.csp_violations == []


def test_the_simulator_refuses_an_invalid_caller(page, live_server, transactional_db):
    org = make_org("webex", name="Simulator Co")
    user = make_user(org=org, role=Membership.MEMBER)
    make_person(org, user=user, name="Ada Lovelace", number="+12025550142")
    signed_in(page, live_server, user)
    page.goto(f"{live_server.url}/me/")
    page.fill("form.test-form input[name=caller]", "12ab")
    page.click("form.test-form button:has-text('Show where the call goes')")
    page.wait_for_selector("#id_caller_error")
    assert "Enter a phone number" in page.inner_text("#id_caller_error")
    assert page.locator(".decision").count() == 0
    both_widths(page, "person-05-simulator-refuses")

    # Offline with nothing forwarding: the call rings nobody, in the page's words.
    page.fill("main form input[name=caller]", "+1 202 555 0199")
    page.select_option("main form select[name=line_state]", "offline")
    page.click("main form button:has-text('Show where the call goes')")
    page.wait_for_selector(".decision")
    decision = page.inner_text(".decision")
    assert "Goes to\nNobody" in decision and "the phone is offline" in decision
    assert "Decided by\nNothing: no forwarding applies" in decision
    both_widths(page, "person-06-simulator-offline")
    assert page.csp_violations == []
