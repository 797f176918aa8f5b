"""Journey (issue 18): an org admin sets the org's forwarding policy from the settings
page, then a member's edit that breaks it is refused with the policy's reason next to the
field, and nothing is saved. Screenshots of both pages at 1280 and 390 px go to
artifacts/screenshots/."""

import pytest

from forwarding.models import DestinationPolicy, ForwardingSettings
from portal.models import AuditEvent, Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, sign_in_by_keyboard, totp_secret

pytestmark = pytest.mark.browser


def _fits_390(page, name):
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_admin_sets_a_policy_and_a_members_edit_is_refused_with_the_reason(
        page, live_server, transactional_db):
    org = make_org("webex", name="Acme")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    member = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=member, name="Ada Lovelace", number="+12025550142")
    other = make_person(org, name="Alan Turing", number="+12025550143")
    ForwardingSettings.objects.create(person=other, always_enabled=True,
                                      always_destination="+442079460000")

    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.goto(f"{live_server.url}/orgs/{org.id}/settings/")
    page.get_by_role("link", name="Forwarding policy").click()
    page.wait_for_selector("h1:has-text('Forwarding policy of Acme')")
    page.get_by_label("Only to these countries").fill("DE, FR")
    page.get_by_label("Always blocked numbers").fill("+1876*")
    page.get_by_role("button", name="Save the policy").click()
    page.wait_for_selector("text=Policy saved.")
    policy = DestinationPolicy.objects.get(org=org)
    assert policy.international_countries == ["DE", "FR"]
    assert policy.deny_patterns == ["+1876*"]
    listing = page.inner_text("section:has(#forbidden)")
    assert "Alan Turing" in listing and "outside Germany and France" in listing
    assert page.csp_violations == []
    screenshot(page, "policy-admin-desktop")
    _fits_390(page, "policy-admin-390")

    page.context.clear_cookies()
    sign_in_by_keyboard(page, live_server, member)
    assert page.url == f"{live_server.url}/me/"
    page.check("#id_always_enabled")
    page.fill("#id_always_destination", "+44 20 7946 0000")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("#id_always_destination_error")
    error = page.inner_text("#id_always_destination_error")
    assert error.strip() == ("International numbers outside Germany and France are not "
                             "allowed by Acme's forwarding policy; ask an org admin for an "
                             "exception.")
    # The field points at its error, for screen readers, and keeps what was typed.
    described = page.get_attribute("#id_always_destination", "aria-describedby")
    assert "id_always_destination_error" in described
    assert page.input_value("#id_always_destination") == "+44 20 7946 0000"
    assert not ForwardingSettings.objects.filter(person=person).exclude(version=1).exists()
    assert AuditEvent.objects.filter(event="policy.violation_refused", person=person).exists()
    assert page.csp_violations == []
    page.locator("#id_always_destination_error").scroll_into_view_if_needed()
    screenshot(page, "policy-member-refused-desktop")
    _fits_390(page, "policy-member-refused-390")
