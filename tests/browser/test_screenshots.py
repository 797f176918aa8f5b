"""A screenshot of every page at 1280 and 390 px, each page visited as the role that
uses it, into artifacts/screenshots/pages/<page>-<width>.png (CI keeps artifacts/); at
390 px no page scrolls sideways (the document's scroll width equals the viewport's); and
axe-core finds no serious or critical violation on any of them at either width.

The pages hold realistic content: long names, a history with pushes that went through
and one that failed, a dry run with a change, an invalid row and a loop warning, a
finished bulk job that can be undone, recorded calls. Nothing reaches a broker: Celery
messages are only collected (the pages are what this test is about, not the pipeline).
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.test import Client
from django.utils import timezone

from forwarding.bulk import drafts, jobs
from forwarding.bulk.plan import edit_description, plan_edit
from forwarding.models import BulkJob, BulkJobRow, CallRecord
from forwarding.rules import permissions, policy_services, services
from portal import audit
from portal.models import AuditEvent, Membership
from tests.cast import make_org, make_person, make_user

from .conftest import CHROMIUM
from .test_accessibility import axe_violations

pytestmark = pytest.mark.browser

PAGES = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "pages"
WIDTHS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


@pytest.fixture
def quiet_broker(monkeypatch):
    sent = []
    monkeypatch.setattr(Celery, "send_task",
                        lambda app, name, *args, **kwargs: sent.append(name))
    return sent


@pytest.fixture
def contexts(browser):
    """Browser contexts for the roles; each keeps its own session."""
    made = []

    def make():
        # axe is injected as an inline script, which the CSP refuses: bypassed here (the
        # other browser tests keep the CSP on and fail on a violation).
        context = browser.new_context(viewport=WIDTHS["1280"], bypass_csp=True)
        made.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        return page

    yield make
    for context in made:
        context.close()


def update(person, actor, **changes):
    settings = services.settings_for(person)
    return services.forwarding_update(person=person, changes=changes,
                                      expected_version=settings.version, actor=actor)


class World:
    """Two orgs an admin runs (Webex and Microsoft Teams), a member with a person of
    their own, and something on every page."""

    def __init__(self):
        self.org = make_org("webex", name="Northwind Traders & Partners International",
                            default_region="GB")
        self.teams = make_org("graph", name="Northwind Teams", default_region="GB")
        self.admin = make_user("alexandra.administrator@northwind.example", org=self.org,
                               role=Membership.ADMIN, mfa=True)
        Membership.objects.create(user=self.admin, org=self.teams, role=Membership.ADMIN)
        self.member = make_user("ada@northwind.example", org=self.org,
                                role=Membership.MEMBER)
        self.ada = make_person(self.org, user=self.member, name="Ada Lovelace-Byron",
                               email="ada@northwind.example", number="+442079460142")
        self.grace = make_person(self.org, name="Grace Brewster Murray Hopper",
                                 email="grace.hopper@northwind.example",
                                 number="+442079460143")
        self.people = [self.ada, self.grace] + [
            make_person(self.org, name=f"Person {n} With A Rather Long Double-Barrelled Name",
                        email=f"person.{n}.with.a.long.address@northwind.example",
                        number=f"+4420794601{n:02d}") for n in range(4)]
        actor = audit.Actor.system("setup")
        update(self.ada, actor, always_enabled=True, always_destination="+44 20 7946 0999")
        update(self.ada, actor, always_destination="+44 20 7946 0998")
        update(self.ada, actor, always_enabled=False, busy_enabled=True,
               busy_destination="sip:reception.desk.long.address@pbx.northwind.example")
        delivery = audit.Actor.system("delivery")
        audit.record(event=audit.Event.PUSH_SUCCEEDED, actor=delivery, person=self.ada,
                     data={"version": 2, "tracking_id": "ROUTER_0123456789abcdef",
                           "attempt": 1})
        audit.record(event=audit.Event.PUSH_FAILED, actor=delivery, person=self.ada,
                     data={"version": 3, "error": "Webex refused the number", "attempt": 2,
                           "tracking_id": "ROUTER_fedcba9876543210"})
        # Grace always forwards to Ada: a dry run setting Ada's busy forwarding to Grace
        # warns of a loop.
        update(self.grace, actor, always_enabled=True, always_destination=self.ada.phone_number)
        self.version_2 = AuditEvent.objects.get(person=self.ada, new__version=2)

        admin_actor = audit.Actor(user=self.admin, label=self.admin.email)
        plan = plan_edit(self.org, [p.id for p in self.people[2:]], feature="no_answer",
                         action="set", destination="+44 20 7946 0555")
        self.job = jobs.job_create(org=self.org, plan=plan, actor=admin_actor,
                                   kind=BulkJob.EDIT,
                                   description=edit_description({
                                       "feature": "no_answer", "action": "set",
                                       "destination": "+44 20 7946 0555",
                                       "people": plan.rows}))
        jobs.apply_rows(job_id=self.job.pk, row_ids=list(
            self.job.rows.filter(status=BulkJobRow.PENDING).values_list("id", flat=True)))

        lines = ["email,busy_enabled,busy_destination",
                 f"{self.ada.email},yes,{self.grace.phone_number}",
                 f"{self.people[2].email},yes,12ab",
                 f"{self.people[3].email},yes,+44 20 7946 0777"]
        self.draft, problems = drafts.draft_create(
            org=self.org, user=self.admin, via_partner=None, filename="northwind-busy.csv",
            data=("\n".join(lines) + "\n").encode())
        assert not problems and self.draft.warned == 1, problems

        self.caller = make_person(self.teams, name="Charles Babbage",
                                  number="+442079460150")
        now = timezone.now()
        for n, (state, outcome) in enumerate([("redirected", "+44 20 7946 0555"),
                                              ("failed", ""), ("redirected", "")]):
            CallRecord.objects.create(
                org=self.teams, person=self.caller, provider_call_id=f"call-{n}",
                api_version="v1.0", caller_kind="phone", caller_id="+12025550177",
                caller_label="A caller with a long name from Washington",
                started_at=now - timedelta(minutes=5 * n), state=state,
                explanation="Forward when busy sends the call to +44 20 7946 0555."
                if outcome else "")


def signed_in(page, live_server, user):
    """Share a Django session with the browser (the two-factor page has its own visit)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def full_page_screenshot(page, path):
    """A full-page screenshot. Chromium draws a sticky element (the person page's Save
    bar) where the first screen's bottom was, over the content, when it captures the
    whole page: the bar is shown in its place for this picture only (its sticking is
    checked and shown by the viewport screenshots below)."""
    page.add_style_tag(content=".save-bar { position: static; }")
    page.screenshot(path=str(path), full_page=True)


def shoot(page, url, name, problems, *, expect_status=None, axe=True):
    """Open `url` at both widths: a screenshot each, axe-core finds no serious or
    critical violation (`axe`), and at 390 px the page must not scroll sideways.
    Returns the HTML at 1280 px."""
    html = None
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        response = page.goto(url)
        page.wait_for_load_state("networkidle")
        if expect_status is not None and response.status != expect_status:
            problems.append(f"{name}: answered {response.status}, not {expect_status}")
        if html is None:
            html = page.content()
        PAGES.mkdir(parents=True, exist_ok=True)
        full_page_screenshot(page, PAGES / f"{name}-{label}.png")
        if axe:
            problems.extend(f"{name} at {label}px: {v}" for v in axe_violations(page))
        if label == "390":
            scroll, width = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]")
            if scroll != width:
                wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                    .filter(e => e.checkVisibility()
                            && e.getBoundingClientRect().right > window.innerWidth + 1)
                    .slice(-3).map(e => e.tagName + '.' + e.className)""")
                problems.append(f"{name} at 390px: scroll width {scroll} != viewport "
                                f"{width} (too wide: {wide})")
    return html


def test_every_page_at_1280_and_390(contexts, live_server, transactional_db, quiet_broker):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    w = World()
    base = live_server.url
    problems = []
    shot = []

    def visit(page, path, name, **kwargs):
        shot.append(name)
        return shoot(page, f"{base}{path}", name, problems, **kwargs)

    # Signed out: sign-in, password reset, 404; then the two-factor step of a real sign-in.
    anonymous = contexts()
    visit(anonymous, "/accounts/login/", "sign-in")
    visit(anonymous, "/accounts/password/reset/", "password-reset")
    visit(anonymous, "/no-such-page/", "not-found-signed-out", expect_status=404)
    anonymous.set_viewport_size(WIDTHS["1280"])
    anonymous.goto(f"{base}/accounts/login/")
    anonymous.fill("input[name=login]", w.admin.email)
    anonymous.fill("input[name=password]", "correct horse 9")
    anonymous.click("button[type=submit]")
    anonymous.wait_for_selector("input[name=code]")
    visit(anonymous, "/accounts/2fa/authenticate/", "two-factor")

    # The member: their own forwarding, history, simulator.
    member = contexts()
    signed_in(member, live_server, w.member)
    visit(member, "/me/", "my-forwarding")
    visit(member, f"/people/{w.ada.id}/history/", "my-history")
    visit(member, f"/people/{w.ada.id}/test/?caller=%2B44+20+7946+0100&at=2026-03-04T21%3A00"
          "&line_state=busy", "simulator")
    visit(member, f"/people/{w.ada.id}/test/?caller=12ab&line_state=busy",
          "simulator-invalid-caller", expect_status=400)

    # The admin: the org's pages, a person's pages, bulk work, connection, calls, API.
    admin = contexts()
    signed_in(admin, live_server, w.admin)
    visit(admin, "/orgs/", "org-switcher")
    visit(admin, f"/orgs/{w.org.id}/people/", "people")
    visit(admin, f"/people/{w.grace.id}/", "person")
    visit(admin, f"/people/{w.ada.id}/history/", "history")
    visit(admin, f"/people/{w.ada.id}/restore/?event={w.version_2.id}", "restore-confirm")
    visit(admin, f"/orgs/{w.org.id}/audit/", "audit-log")
    visit(admin, f"/orgs/{w.org.id}/settings/", "org-settings")
    visit(admin, f"/orgs/{w.org.id}/connection/", "connection")
    visit(admin, f"/orgs/{w.org.id}/member-permissions/", "member-permissions")
    visit(admin, f"/orgs/{w.org.id}/bulk/", "bulk-import")
    visit(admin, f"/orgs/{w.org.id}/bulk/drafts/{w.draft.id}/", "dry-run")
    html = visit(admin, f"/bulk-jobs/{w.job.id}/", "bulk-job")
    if not re.search(r"Undo", html or ""):
        problems.append("bulk-job: a finished job offers no Undo")
    visit(admin, f"/bulk-jobs/{w.job.id}/undo/", "bulk-undo-confirm")
    visit(admin, f"/people/{w.caller.id}/calls/", "calls")
    visit(admin, "/accounts/2fa/", "two-factor-manage")
    visit(admin, "/accounts/password/change/", "password-change")
    # Swagger UI's own markup is not the portal's (test_api_docs checks it renders).
    visit(admin, "/api/docs/", "api-docs", axe=False)
    visit(admin, "/no-such-page/", "not-found", expect_status=404)
    # The destination policy: its page with the people it forbids and its bulk fix's dry
    # run; removed again, so the edits below are not bound by it.
    setup = audit.Actor.system("setup")
    policy_services.policy_update(org=w.org, data={"allow_national": False}, actor=setup)
    visit(admin, f"/orgs/{w.org.id}/policy/", "policy")
    visit(admin, f"/orgs/{w.org.id}/policy/fix/?feature=always", "policy-fix")
    policy_services.policy_remove(org=w.org, actor=setup)

    # The member's page once the admins locked busy forwarding, schedules and the rules
    # per caller: read-only cards saying whom to ask.
    permissions.member_permissions_update(
        org=w.org, locked=["busy", "schedules", "caller_rules"],
        actor=audit.Actor(user=w.admin, label=w.admin.email))
    visit(member, "/me/", "my-forwarding-locked")

    # The person page with a loop warning and its confirmation (a POST's answer: its
    # HTML laid out again at each width).
    admin.set_viewport_size(WIDTHS["1280"])
    admin.goto(f"{base}/people/{w.ada.id}/")
    admin.fill("#id_busy_destination", w.grace.phone_number)
    admin.click(".save-bar button[type=submit]")
    admin.wait_for_selector("#loop-confirm")
    warned = admin.content()
    for label, size in WIDTHS.items():
        admin.set_viewport_size(size)
        admin.set_content(warned)
        admin.wait_for_load_state("networkidle")
        full_page_screenshot(admin, PAGES / f"person-loop-warning-{label}.png")
    shot.append("person-loop-warning")

    # On a phone the Save bar stays in reach at the bottom of the screen while the cards
    # scroll under it, and leaves most of the screen to them (a viewport screenshot: a
    # full-page one cannot show what sticks).
    admin.set_viewport_size(WIDTHS["390"])
    admin.goto(f"{base}/people/{w.ada.id}/")
    admin.wait_for_load_state("networkidle")
    admin.locator("fieldset.feature-card").nth(1).scroll_into_view_if_needed()
    admin.screenshot(path=str(PAGES / "person-save-bar-390-viewport.png"))
    bar = admin.locator(".save-bar").bounding_box()
    if abs(bar["y"] + bar["height"] - WIDTHS["390"]["height"]) > 1:
        problems.append(f"person at 390px: the Save bar is not at the bottom ({bar})")
    if bar["height"] > WIDTHS["390"]["height"] * 0.1:
        problems.append(f"person at 390px: the Save bar takes {bar['height']}px")
    # At the end of the form the bar rests in its place, right after the last card.
    admin.locator(".save-bar").scroll_into_view_if_needed()
    admin.evaluate("() => window.scrollBy(0, 200)")
    admin.screenshot(path=str(PAGES / "person-end-of-form-390-viewport.png"))

    for name in shot:
        for label in WIDTHS:
            assert (PAGES / f"{name}-{label}.png").stat().st_size > 0
    assert not problems, "\n".join(problems)
