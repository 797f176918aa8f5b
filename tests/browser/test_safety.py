"""Issue 15's safety checks in a real browser: 911 is refused next to the field it was
typed in, and a loop through busy forwarding is shown as a warning that saves once
"Forward anyway" is ticked. Screenshots: safety-911-*.png, safety-busy-loop-*.png."""

import pytest

from forwarding.models import ForwardingSettings
from forwarding.rules import services
from portal.audit import Actor
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def save(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()


def shots(page, name):
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def ada(db):
    org = make_org("webex", name="Safety Co")
    user = make_user(org=org, role=Membership.MEMBER)
    ada = make_person(org, user=user, name="Ada", number="+12025550142")
    return ada


def test_911_is_refused_next_to_the_field(page, live_server, ada):
    sign_in(page, live_server, ada.user)
    page.goto(f"{live_server.url}/me/")
    page.check("#id_always_enabled")
    page.fill("#id_always_destination", "911")
    save(page)
    error = page.inner_text("#id_always_destination_error")
    assert "911 is an emergency number" in error
    assert page.locator("#loop-confirm").count() == 0
    shots(page, "safety-911")
    assert ForwardingSettings.objects.filter(person=ada, always_enabled=True).count() == 0
    assert not page.csp_violations


def test_the_busy_loop_warning_is_shown_then_confirmed(page, live_server, ada):
    grace = make_person(ada.org, name="Grace", number="+12025550143")
    services.forwarding_update(
        person=grace, changes={"always_enabled": True, "always_destination": "+12025550142"},
        expected_version=services.settings_for(grace).version, actor=Actor.system("setup"))
    sign_in(page, live_server, ada.user)
    page.goto(f"{live_server.url}/me/")
    page.check("#id_busy_enabled")
    page.fill("#id_busy_destination", "+1 202 555 0143")
    save(page)
    warning = page.inner_text("#id_busy_destination_error")
    assert "when Ada is busy, calls bounce between Ada and Grace" in warning
    assert page.locator("#loop-confirm").is_visible()
    shots(page, "safety-busy-loop-warning")
    assert services.settings_for(ada).busy_enabled is False

    page.check("#id_confirm_loops")
    save(page)
    page.wait_for_selector("text=Saved as version 2.")
    shots(page, "safety-busy-loop-confirmed")
    settings = services.settings_for(ada)
    assert settings.busy_enabled and settings.busy_destination == "+12025550143"
    assert not page.csp_violations
