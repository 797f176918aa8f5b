"""Whole journeys in headless Chromium against the live server, signed in through the real
sign-in form (TOTP codes computed from the authenticator's secret, as an app would):

1. a person sets always-forward and watches it go from Pending to Synced (real worker,
   the provider sandbox);
2. an org admin edits a person, then restores an earlier version from the history;
3. a Lync org admin downloads the MSPL manifest;
4. a partner admin switches to a customer org and edits one of its people;
5. the "test my forwarding" panel says where a call goes.

Screenshots of the key pages go to artifacts/screenshots/journey-*.png."""

import time
import xml.etree.ElementTree as ET

import pytest

from forwarding.calltime import manifests
from forwarding.models import ForwardingSettings
from forwarding.rules import services
from portal.audit import Actor
from portal.models import AuditEvent, Delegation, Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, sign_in_by_keyboard, totp, totp_secret

pytestmark = pytest.mark.browser

MSPL = "{http://schemas.microsoft.com/lcs/2006/05}"


def set_forwarding(person, rules=None, **changes):
    """A change made before the journey starts, as the system."""
    return services.forwarding_update(
        person=person, changes=changes, expected_version=services.settings_for(person).version,
        actor=Actor.system("journey setup"), caller_rules=rules)


def badge(page):
    return page.inner_text(".sync-state .badge").strip()


def save_button(page):
    return page.get_by_role("button", name="Save", exact=True)


def test_totp_matches_rfc_6238():
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890": 94287082 at T=59 (8 digits).
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp(secret, 59, digits=8) == "94287082"
    assert totp(secret, 1111111109, digits=8) == "07081804"
    assert totp(secret, 59) == "287082"


def test_a_person_sets_always_forward_and_sees_it_synced(page, live_server, sandbox,
                                                         make_worker):
    token = "journey-webex-token"
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": token, "orgId": "journey-org", "partnerFor": []})
    org = make_org("webex", name="Journey Co", provider_org_id="journey-org",
                   base_url=f"{sandbox.url}/webex/v1", credentials={"token": token})
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, name="Ada Lovelace", number="+12025550142",
                         provider_person_id="journey-ada")
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": org.provider_org_id, "personId": person.provider_person_id})

    sign_in_by_keyboard(page, live_server, user)
    assert page.url == f"{live_server.url}/me/"  # a person lands on their own forwarding
    page.check("#id_always_enabled")
    page.fill("#id_always_destination", "+1 303 555 0100")
    screenshot(page, "journey-1-person-form")
    save_button(page).click()
    page.wait_for_selector("text=Saved as version 2.")
    # Settings start at version 1. No worker runs yet: the change waits in the outbox.
    assert badge(page) == "Pending"
    assert "Version 2 is waiting to be delivered" in page.inner_text(".sync-state")
    screenshot(page, "journey-1-pending")

    make_worker("journey", concurrency=1)
    deadline = time.monotonic() + 60
    while badge(page) != "Synced":
        assert time.monotonic() < deadline, f"still {badge(page)!r} after 60 s"
        time.sleep(0.5)
        page.reload()
    assert "Last delivered to Webex" in page.inner_text(".sync-state")
    assert "Always forward: " in page.inner_text("#now-heading + ul") or \
        "+1 303 555 0100" in page.inner_text("#now-heading + ul")
    screenshot(page, "journey-1-synced")

    state = sandbox.webex_state(person.provider_person_id, token, org.provider_org_id)
    always = state["callForwarding"]["always"]
    assert always["enabled"] is True and always["destination"] == "+13035550100"
    assert page.csp_violations == []


def test_an_admin_with_totp_edits_then_restores_an_earlier_version(page, live_server,
                                                                   transactional_db):
    # Graph beta: see test_a_teams_v1_person_page_saves for why not v1.0 (yet).
    org = make_org("graph", name="Teams Co", graph_api_version="beta")
    person = make_person(org, name="Grace Hopper", number="+12025550150")
    set_forwarding(person, always_enabled=True, always_destination="+13035550101")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)

    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    assert page.url == f"{live_server.url}/orgs/{org.id}/people/"
    screenshot(page, "journey-2-people")
    page.click("text=Grace Hopper")
    assert page.input_value("#id_always_destination") == "+13035550101"
    page.fill("#id_always_destination", "+1 303 555 0102")
    save_button(page).click()
    page.wait_for_selector("text=Saved as version 3.")
    screenshot(page, "journey-2-edited")
    assert ForwardingSettings.objects.get(person=person).always_destination == "+13035550102"

    page.click("text=History of changes")
    page.wait_for_selector("h1:has-text('History of Grace Hopper')")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert admin.email in rows.nth(0).inner_text()  # newest first: the admin's edit
    assert "journey setup" in rows.nth(1).inner_text()
    screenshot(page, "journey-2-history")
    page.click('button[aria-label^="Restore version 2 "]')
    # Restore asks first, showing what it will change.
    page.wait_for_selector(".restore-preview")
    page.click("text=Yes, restore version 2")
    page.wait_for_selector("text=Restored the settings of version 2 as the new version 4.")
    assert page.input_value("#id_always_destination") == "+13035550101"
    assert "+1 303 555 0101" in page.inner_text("#now-heading + ul")
    screenshot(page, "journey-2-restored")

    settings = ForwardingSettings.objects.get(person=person)
    assert (settings.version, settings.always_destination) == (4, "+13035550101")
    restored = AuditEvent.objects.filter(person=person).latest("id")
    assert restored.actor == admin and restored.data.get("restored_version") == 2
    assert page.csp_violations == []


def test_a_teams_v1_person_page_saves(page, live_server, transactional_db):
    org = make_org("graph", name="Teams v1 Co", graph_api_version="v1.0")
    make_person(org, name="Linus Pauling", number="+12025550180")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.click("text=Linus Pauling")
    page.check("#id_always_enabled")
    page.fill("#id_always_destination", "+1 303 555 0180")
    save_button(page).click()
    page.wait_for_selector("text=Saved as version 2.", timeout=5000)


def test_a_lync_admin_downloads_the_manifest(page, live_server, transactional_db):
    org = make_org("lync", name="Umbrella (Lync)", provider_org_id="umbrella-lync",
                   base_url="", credentials={}, default_region="DE")
    make_person(org, name="Jenny", number="+493012340002", sip_uri="sip:jennyl@contoso.com")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)

    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.click("text=Jenny")
    page.check("#id_always_enabled")
    page.fill("#id_always_destination", "+44 20 7946 0000")
    save_button(page).click()
    page.wait_for_selector("text=Saved as version 2.")
    assert badge(page) == "In the manifest"

    page.click(f".breadcrumbs a:has-text('{org.name}')")
    page.click("text=Organization settings")
    page.wait_for_selector("#manifest-heading")
    assert "The manifest has never been downloaded" in page.inner_text("main")
    screenshot(page, "journey-3-settings-before")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the manifest").click()
    download = info.value
    assert download.suggested_filename == manifests.manifest_filename(org) == \
        "callforward-umbrella-lync.am"
    root = ET.parse(download.path()).getroot()  # noqa: S314 (our own output)
    assert root.tag == f"{MSPL}applicationManifest"
    assert root.get(f"{MSPL}appUri", "").endswith(f"/lync/{org.id}/forwarding")
    script = root.find(f"{MSPL}splScript").text
    assert 'EqualString(toUser, "jennyl@contoso.com"' in script or \
        '"jennyl@contoso.com"' in script
    assert 'RetargetRequest("sip:+442079460000@contoso.com;user=phone");' in script

    page.reload()
    assert "Up to date: no rule changed since the last download" in page.inner_text("main")
    screenshot(page, "journey-3-settings-after")
    event = AuditEvent.objects.get(event="manifest.downloaded")
    assert event.actor == admin and event.data["filename"] == download.suggested_filename
    assert page.csp_violations == []


def test_a_partner_admin_switches_org_and_edits_a_customers_person(page, live_server,
                                                                  transactional_db):
    partner = make_org("webex", name="Northwind Partners")
    customer = make_org("graph", name="Globex (Teams)", graph_api_version="beta")
    Delegation.objects.create(customer=customer, partner=partner)
    person = make_person(customer, name="Alan Turing", number="+12025550160")
    admin = make_user(org=partner, role=Membership.ADMIN, mfa=True)

    sign_in_by_keyboard(page, live_server, admin, secret=totp_secret(admin))
    page.click("main >> text=Northwind Partners")  # home lists both orgs
    page.click("text=Switch organization")
    page.wait_for_selector("h1:has-text('Organizations you administer')")
    rows = page.locator("table.org-switcher tbody tr")
    assert rows.count() == 2
    assert "Its own admin" in rows.nth(0).inner_text()
    assert "Northwind Partners" in rows.nth(0).inner_text()
    assert "Partner admin, on behalf of Northwind Partners" in rows.nth(1).inner_text()
    screenshot(page, "journey-4-org-switcher")

    rows.nth(1).locator("a:has-text('Globex (Teams)')").click()
    acting = "You act on behalf of partner Northwind Partners, through the delegation of " \
             "Globex (Teams)."
    assert page.inner_text("p.acting") == acting
    page.click("text=Alan Turing")
    assert page.inner_text("p.acting") == acting
    page.check("#id_always_enabled")
    page.fill("#id_always_destination", "+1 303 555 0160")
    save_button(page).click()
    page.wait_for_selector("text=Saved as version 2.")
    assert page.inner_text("p.acting") == acting
    screenshot(page, "journey-4-customer-person")

    event = AuditEvent.objects.get(person=person, event="forwarding.updated")
    assert event.actor == admin and event.via_partner == partner
    assert event.actor_label == f"{admin.email} (partner Northwind Partners)"
    page.click("text=History of changes")
    assert f"{admin.email} (partner Northwind Partners)" in page.inner_text("tbody")
    assert page.csp_violations == []


def test_the_test_panel_says_where_a_call_goes(page, live_server, transactional_db):
    org = make_org("graph", name="Teams Co")
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, name="Katherine Johnson", number="+12025550170")
    set_forwarding(person, always_enabled=True, always_destination="+13035550122",
                   rules=[{"callers": ["+12025550199"], "destination": "+13035550111"}])

    sign_in_by_keyboard(page, live_server, user)
    page.fill("form.test-form input[name=caller]", "+1 202 555 0199")
    page.select_option("form.test-form select[name=line_state]", "idle")
    screenshot(page, "journey-5-panel")
    page.click("form.test-form button:has-text('Show where the call goes')")
    page.wait_for_selector("#result-heading")
    assert page.url.startswith(f"{live_server.url}/people/{person.id}/test/?")
    decision = page.inner_text(".decision")
    assert "Caller +1 202 555 0199 matches caller rule 1" in decision
    assert "Goes to\n+1 303 555 0111" in decision
    assert "Decided by\nRules per caller: rule 1" in decision
    assert "caller_rule" not in decision
    screenshot(page, "journey-5-rule")

    # Anybody else (here an anonymous caller, the line busy) gets always-forward.
    page.fill("main form input[name=caller]", "")
    page.select_option("main form select[name=line_state]", "busy")
    page.click("main form button:has-text('Show where the call goes')")
    page.wait_for_selector("text=Always-forward is on: the call goes to")
    decision = page.inner_text(".decision")
    assert "If an anonymous caller calls at" in decision and "while the line is busy" in decision
    assert "Goes to\n+1 303 555 0122" in decision
    assert "Decided by\nAlways forward" in decision
    screenshot(page, "journey-5-always")
    assert page.csp_violations == []
