"""Every main page, checked in headless Chromium at 1280 and 390 px:

- axe-core (installed from the npm registry by scripts/ensure_browser.sh, pinned in
  package-lock.json) finds no serious or critical violation;
- at 390 px the page never scrolls sideways (document scroll width == viewport width);
- the history and the audit log show no raw event code;
- screenshots of each page at both widths go to artifacts/screenshots/a11y-*.png.

axe is injected with page.add_script_tag, i.e. as an inline script, which the site's CSP
refuses: these contexts bypass the CSP (the other browser tests keep it on and fail on a
violation)."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.test import Client

from forwarding.rules import policy_services, services
from portal import audit
from portal.events import services as event_services
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
RAW_CODE = re.compile(r"\b(forwarding|push|drift|bulk|call|connection|account)\.[a-z_]+\b")


def axe_violations(page):
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run scripts/ensure_browser.sh (npm ci)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")
    return [v for v in result if v["impact"] in SERIOUS]


def scroll_overflow(page):
    return page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth")


def check(page, url, name, *, phone_scroll=True, raw_codes=False):
    """Open `url` at both widths: screenshots, axe, sideways scrolling, raw codes."""
    problems = []
    for label, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        screenshot(page, f"a11y-{name}-{label}")
        for violation in axe_violations(page):
            problems.append(f"{name} at {label}px: {violation}")
        if label == "390" and phone_scroll and (extra := scroll_overflow(page)) > 0:
            problems.append(f"{name} at 390px scrolls sideways by {extra}px")
        if raw_codes:
            text = page.inner_text("main")
            if match := RAW_CODE.search(text):
                problems.append(f"{name} at {label}px shows the raw code {match.group(0)!r}")
    return problems


@pytest.fixture
def context_factory(browser):
    contexts = []

    def make():
        context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def world():
    org = make_org("webex", name="Axe & Co", default_region="GB")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    ada = make_person(org, name="Ada Lovelace", number="+442079460142")
    for n in range(3):
        make_person(org, name=f"Person {n} With A Rather Long Name",
                    number=f"+4420794601{n:02d}")
    actor = audit.Actor.system("setup")
    for destination in ("+44 20 7946 0999", "+44 20 7946 0998"):
        settings = services.settings_for(ada)
        services.forwarding_update(person=ada, changes={
            "always_enabled": True, "always_destination": destination},
            expected_version=settings.version, actor=actor)
    system = audit.Actor.system("delivery")
    audit.record(event=audit.Event.PUSH_SUCCEEDED, actor=system, person=ada,
                 data={"version": 2, "tracking_id": "ROUTER_0123456789abcdef", "attempt": 1})
    audit.record(event=audit.Event.PUSH_FAILED, actor=system, person=ada,
                 data={"version": 3, "error": "Webex refused the number", "attempt": 2,
                       "tracking_id": "ROUTER_fedcba9876543210"})
    return org, admin, ada


def signed_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    return client


def test_pages_are_accessible_and_fit_a_phone(context_factory, live_server, transactional_db):
    org, admin, ada = world()
    problems = []

    # Signed out: the sign-in page, then the two-factor page after the password.
    anonymous = context_factory()
    problems += check(anonymous, f"{live_server.url}/accounts/login/", "sign-in")
    anonymous.set_viewport_size(DESKTOP)
    anonymous.goto(f"{live_server.url}/accounts/login/")
    anonymous.fill("input[name=login]", admin.email)
    anonymous.fill("input[name=password]", "correct horse 9")
    anonymous.click("button[type=submit]")
    anonymous.wait_for_selector("input[name=code]")
    code = anonymous.locator("input[name=code]")
    assert code.get_attribute("inputmode") == "numeric"
    assert code.get_attribute("autocomplete") == "one-time-code"
    # The label sits above the field; Cancel is not the primary button.
    label_box = anonymous.locator("label[for=id_code]").bounding_box()
    assert label_box["y"] + label_box["height"] <= code.bounding_box()["y"] + 1
    assert "secondary" in (anonymous.get_by_role("button", name="Cancel").get_attribute("class")
                           or "")
    problems += check(anonymous, anonymous.url, "two-factor")

    page = context_factory()
    client = signed_in(page, live_server, admin)
    base = live_server.url
    problems += check(page, f"{base}/orgs/{org.id}/people/", "people")
    problems += check(page, f"{base}/people/{ada.id}/", "person")
    problems += check(page, f"{base}/people/{ada.id}/history/", "history", raw_codes=True)
    problems += check(page, f"{base}/orgs/{org.id}/audit/", "audit", raw_codes=True)
    problems += check(page, f"{base}/orgs/{org.id}/connection/", "connection")
    problems += check(page, f"{base}/orgs/{org.id}/settings/", "org-settings")
    problems += check(page, f"{base}/orgs/{org.id}/bulk/", "bulk-import")
    # Outgoing events: the list with its form, an endpoint with a waiting test delivery,
    # and the audit export's form.
    endpoint, _secret = event_services.endpoint_create(
        org=org, url="https://hooks.axe.example/portal", actor=audit.Actor.system("setup"))
    event_services.send_test(endpoint=endpoint, actor=audit.Actor.system("setup"))
    problems += check(page, f"{base}/orgs/{org.id}/events/", "events")
    problems += check(page, f"{base}/orgs/{org.id}/events/{endpoint.id}/", "event-endpoint")
    problems += check(page, f"{base}/orgs/{org.id}/audit/export/", "audit-export")
    # The destination policy: Ada's national forwarding breaks it (listed, with the bulk
    # fix's dry run); removed again before the dry run below, which it would refuse.
    setup = audit.Actor.system("setup")
    policy_services.policy_update(org=org, data={"allow_national": False}, actor=setup)
    problems += check(page, f"{base}/orgs/{org.id}/policy/", "policy")
    problems += check(page, f"{base}/orgs/{org.id}/policy/fix/?feature=always", "policy-fix")
    policy_services.policy_remove(org=org, actor=setup)

    # A dry run: the org's export with one valid change and one invalid row.
    response = client.get(f"/orgs/{org.id}/bulk/export.csv")
    exported = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    rows[0]["busy_enabled"], rows[0]["busy_destination"] = "yes", "+44 20 7946 0777"
    rows[1]["busy_enabled"], rows[1]["busy_destination"] = "yes", "12ab"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/orgs/{org.id}/bulk/")
    page.set_input_files("input[type=file]", files=[{
        "name": "people.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()}])
    page.click("text=Check the file (dry run)")
    page.wait_for_load_state("networkidle")
    dry_run_html = page.content()
    screenshot(page, "a11y-dry-run-1280")
    problems += [f"dry-run at 1280px: {v}" for v in axe_violations(page)]
    page.set_viewport_size(PHONE)
    page.set_content(dry_run_html)  # the dry run answered a POST: its HTML, re-laid out
    page.wait_for_load_state("networkidle")
    screenshot(page, "a11y-dry-run-390")
    if (extra := scroll_overflow(page)) > 0:
        problems.append(f"dry-run at 390px scrolls sideways by {extra}px")

    # A bulk job (no worker runs: it stays queued, which is a page too).
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/orgs/{org.id}/people/")
    page.check(f'input[name=people][value="{ada.id}"]')
    page.select_option("#bulk-feature", "busy")
    page.fill("#bulk-destination", "+44 20 7946 0555")
    page.click("text=Apply to the ticked people")
    page.wait_for_selector("#job-progress")
    problems += check(page, page.url, "bulk-job")

    assert not problems, "\n".join(problems)
