"""Journey: an org admin connects Webex Calling through the sandbox's consent page
(Approve) and sees "connected, expires in ..." with the 24-hour chart; screenshots of the
Connection page at desktop width and at 390 px go to artifacts/screenshots/."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portal import audit
from portal.audit import Actor, Event
from portal.models import ConnectionState, Membership, ProviderConnection
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, sign_in_by_keyboard, totp_secret

pytestmark = pytest.mark.browser


def some_pushes(org):
    """A day of audit rows, so the chart has something to draw."""
    now = timezone.now()
    for hours_ago, (ok, retried, failed) in {20: (4, 0, 0), 9: (12, 3, 1), 2: (7, 1, 0),
                                             0: (3, 0, 2)}.items():
        with time_machine.travel(now - timedelta(hours=hours_ago), tick=False):
            for event, n in ((Event.PUSH_SUCCEEDED, ok), (Event.PUSH_RETRYING, retried),
                             (Event.PUSH_FAILED, failed)):
                for _ in range(n):
                    audit.record(event=event, actor=Actor.system("journey"), org=org)


def test_an_admin_connects_webex_through_the_consent_page(page, live_server, sandbox,
                                                          settings, transactional_db):
    settings.PUBLIC_URL = live_server.url
    settings.WEBEX_CLIENT_ID, settings.WEBEX_CLIENT_SECRET = "portal-webex", "journey-s3cret"
    sandbox.control("POST", "webex/clients", expect=201, json={
        "clientId": "portal-webex", "clientSecret": "journey-s3cret",
        "redirectUris": [f"{live_server.url}/connection/webex/callback"]})
    sandbox.control("POST", "webex/orgs", expect=201,
                    json={"orgId": "journey-webex", "name": "Journey Webex"})
    org = make_org("webex", name="Connect Co", provider_org_id="journey-webex",
                   base_url=f"{sandbox.url}/webex/v1", credentials={})
    make_person(org, name="Ada Lovelace")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    some_pushes(org)

    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.get_by_role("link", name="Connection", exact=True).click()
    page.wait_for_selector("h1:has-text('connection to Webex Calling')")
    assert "not connected" in page.inner_text(".connection-state")
    page.get_by_role("button", name="Connect Webex Calling").click()

    # The sandbox's consent page, as Webex's would be: pick the org, Approve.
    page.wait_for_selector("text=Webex sandbox: authorize portal-webex")
    page.get_by_label("Organization").select_option("journey-webex")
    page.get_by_role("button", name="Approve").click()

    page.wait_for_selector("text=Webex Calling is connected for Connect Co.")
    state = page.inner_text(".connection-state")
    assert state.startswith("connected, expires in 13 days"), state
    assert ProviderConnection.objects.get(org=org).state == ConnectionState.CONNECTED
    chart = page.get_by_role("img", name="Pushes per hour, last 24 hours")
    assert chart.count() == 1
    assert page.csp_violations == []
    screenshot(page, "connection-desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    # Nothing but the chart's own scroller may scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "connection-390")
