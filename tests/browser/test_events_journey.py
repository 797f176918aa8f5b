"""Journey (issue 18): an org admin registers an event endpoint (the sandbox's receiver),
copies the secret shown once, sends a test event, and sees it delivered; a real worker
delivers it. Screenshots at 1280 and 390 px go to artifacts/screenshots/."""

import pytest

from portal.events import signing
from portal.models import EventEndpoint, Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, sign_in_by_keyboard, totp_secret

pytestmark = pytest.mark.browser


def test_an_admin_registers_an_endpoint_and_sends_a_test_event(
        page, live_server, sandbox, make_worker, transactional_db):
    org = make_org("webex", name="Events Co")
    make_person(org, name="Ada Lovelace")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    make_worker("w1")

    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.goto(f"{live_server.url}/orgs/{org.id}/people/")
    page.get_by_role("link", name="Events", exact=True).click()
    page.wait_for_selector("h1:has-text('Events of Events Co')")

    # A refused address first: the reason is next to the field.
    page.get_by_label("Endpoint URL").fill("ftp://hooks.example.com/")
    page.get_by_role("button", name="Add endpoint").click()
    assert "Use an https:// URL" in page.inner_text(".field-errors")
    assert not EventEndpoint.objects.exists()

    receiver = f"{sandbox.url}/events/journey"
    page.get_by_label("Endpoint URL").fill(receiver)
    page.get_by_label("Description").fill("Our SIEM")
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_selector("text=Copy it now: it is not shown again.")
    secret = page.get_by_role("textbox", name="Secret").input_value()
    assert secret == EventEndpoint.objects.get().secrets["current"]
    assert page.csp_violations == []
    screenshot(page, "events-secret-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "events-secret-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Done, I have copied it").click()
    page.get_by_role("button", name="Send test event").click()
    page.wait_for_selector("text=queued")
    for _ in range(40):  # the worker answers within a second or two
        page.reload()
        if page.locator("td[data-label=State] .badge.synced").count():
            break
        page.wait_for_timeout(250)
    assert "Delivered" in page.inner_text("td[data-label=State]")
    assert "HTTP 200" in page.inner_text("td[data-label=Attempts]")

    [got] = sandbox.control("GET", "events/journey", expect=200).json()["received"]
    assert got["json"]["type"] == "test"
    signing.verify(secret, got["headers"], got["body"].encode())
    assert page.csp_violations == []
    screenshot(page, "events-endpoint-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "events-endpoint-390")
    page.goto(f"{live_server.url}/orgs/{org.id}/events/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "events-list-390")
