"""What members may change themselves, in a real browser: an admin (TOTP) unticks
simultaneous ring on the org's page, then a member sees that card read-only with whom to
ask and still saves the rest of the page. Screenshots: member-permissions-admin-*.png,
member-permissions-member-*.png."""

import pytest

from forwarding.models import ForwardingSettings, MemberPermissions
from forwarding.rules import services
from portal.audit import Actor
from portal.models import AuditEvent, Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, sign_in, sign_in_by_keyboard, totp_secret

pytestmark = pytest.mark.browser

SENTENCE = ("Your admins set simultaneous ring for Acme; ask Ada Admin or another admin "
            "of Acme.")


def shots(page, name):
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def acme(db):
    org = make_org("webex", name="Acme")
    admin = make_user("ada@acme.example", org=org, role=Membership.ADMIN, mfa=True)
    admin.first_name, admin.last_name = "Ada", "Admin"
    admin.save()
    member = make_user("mia@acme.example", org=org, role=Membership.MEMBER)
    mia = make_person(org, user=member, name="Mia Member", number="+12025550160")
    services.forwarding_update(
        person=mia, changes={"simring_enabled": True, "simring_targets": ["+12025550161"]},
        expected_version=services.settings_for(mia).version, actor=Actor.system("setup"))
    return org, admin, mia


def test_an_admin_locks_simultaneous_ring_and_the_member_sees_it_read_only(
        page, live_server, acme):
    org, admin, mia = acme
    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.goto(f"{live_server.url}/orgs/{org.id}/settings/")
    page.click("text=What members may change themselves")
    page.get_by_label("Simultaneous ring").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved: members now see the unticked features read-only")
    assert not page.get_by_label("Simultaneous ring").is_checked()
    assert page.get_by_label("Do not disturb").is_checked()
    shots(page, "member-permissions-admin")
    assert MemberPermissions.objects.get(org=org).locked == ["simring"]
    assert AuditEvent.objects.filter(event="org.member_permissions_updated",
                                     actor=admin).count() == 1
    assert not page.csp_violations

    page.context.clear_cookies()
    sign_in(page, live_server, mia.user)
    page.goto(f"{live_server.url}/me/")
    card = page.locator("#section-simring")
    assert SENTENCE in card.inner_text()
    assert page.locator("#id_simring_enabled").is_disabled()
    assert page.locator("#id_simring_targets").is_disabled()
    assert page.input_value("#id_simring_targets") == "+12025550161"
    assert page.locator("#id_dnd_enabled").is_enabled()
    shots(page, "member-permissions-member")
    card.screenshot(path=str(screenshot(page, "member-permissions-member-1280").parent
                             / "member-permissions-member-card.png"))

    # The rest of the page still saves, and simultaneous ring is left as it was.
    page.check("#id_dnd_enabled")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved as version 3.")
    row = ForwardingSettings.objects.get(person=mia)
    assert row.dnd_enabled and row.simring_enabled
    assert row.simring_targets == ["+12025550161"]
    assert not page.csp_violations
