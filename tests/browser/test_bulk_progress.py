"""The bulk job page shows real progress while a real worker applies and pushes the job:
headless Chromium, the live server, a Celery worker on a private Redis, and the provider
sandbox. The page is never reloaded: its script moves the bars and the row outcomes."""

import time

import pytest
from django.test import Client

from forwarding.models import BulkJob, ForwardingSettings
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TOKEN = "browser-webex-token"
PEOPLE = 40


def webex_org(sandbox, *, rate):
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": TOKEN, "orgId": "browser-org", "partnerFor": []})
    return make_org("webex", name="Browser Co", provider_org_id="browser-org",
                    base_url=f"{sandbox.url}/webex/v1", credentials={"token": TOKEN},
                    rate_limit_per_second=rate)


def signed_in(page, live_server, user):
    """Share a Django session with the browser (the admin has TOTP on; signing in through
    the form would ask for a code, which is not what this test is about)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def counters(page):
    return page.evaluate("""() => ({
        processed: document.getElementById("bar-processed").value,
        pushed: document.getElementById("bar-pushed").value,
        pending: document.querySelector('[data-field="pending"]').textContent,
        settled: document.getElementById("job-progress").dataset.settled,
        marker: window.__notReloaded === true,
        delivered: document.querySelectorAll('[data-field="outcome"].synced').length,
    })""")


def test_the_progress_page_moves_while_the_job_runs(page, live_server, sandbox, make_worker):
    # Eight pushes a second: forty people take about five seconds to deliver, long enough
    # to watch the bars move.
    org = webex_org(sandbox, rate=8)
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    for n in range(PEOPLE):
        person = make_person(org, name=f"Person {n:02d}", number=f"+1202555{n + 100:04d}",
                             provider_person_id=f"browser-person-{n}")
        sandbox.control("POST", "webex/people", expect=201,
                        json={"orgId": org.provider_org_id, "personId": person.provider_person_id})
    signed_in(page, live_server, admin)

    # Tick everyone on the people list and set "forward when busy" for all of them.
    page.goto(f"{live_server.url}/orgs/{org.id}/people/")
    page.check("#select-all-people")
    assert page.locator('input[name="people"]:checked').count() == PEOPLE
    page.select_option("#bulk-feature", "busy")
    page.fill("#bulk-destination", "+1 303 555 0100")
    screenshot(page, "bulk-01-people-list")
    page.click("text=Apply to the ticked people")
    page.wait_for_selector("#job-progress")
    job = BulkJob.objects.get()
    assert page.url.endswith(f"/bulk-jobs/{job.id}/")
    page.evaluate("() => { window.__notReloaded = true; }")
    # Nothing to undo while the job waits: the Undo link is there, hidden.
    assert page.locator("#undo-job").count() == 1 and not page.is_visible("#undo-job")
    first = counters(page)
    assert first["processed"] == 0 and first["pending"] == str(PEOPLE)
    screenshot(page, "bulk-02-queued")

    # Only now a worker starts: everything that moves from here on is the job running.
    make_worker("bulk-browser", concurrency=2)
    seen = [first]
    deadline = time.monotonic() + 90
    shot_mid = False
    while time.monotonic() < deadline:
        now = counters(page)
        if (now["processed"], now["pushed"]) != (seen[-1]["processed"], seen[-1]["pushed"]):
            seen.append(now)
            if not shot_mid and 0 < now["pushed"] < PEOPLE:
                screenshot(page, "bulk-03-running")
                shot_mid = True
        if now["settled"] == "true":
            seen.append(now)
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the job did not settle; last seen {seen[-1]}")
    # Undo appears by itself once the job is done (the page was never reloaded).
    page.wait_for_selector("#undo-job", state="visible", timeout=10_000)
    assert page.text_content('[data-field="state"]') in ("Done", "Done, being delivered")
    screenshot(page, "bulk-04-done")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "bulk-04-done-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    final = seen[-1]
    assert final["marker"], "the page was reloaded; the script should have updated it"
    assert final["processed"] == PEOPLE and final["pushed"] == PEOPLE
    assert final["pending"] == "0" and final["delivered"] == PEOPLE
    # Real progress: several intermediate states, never going backwards.
    pushed = [s["pushed"] for s in seen]
    assert pushed == sorted(pushed)
    assert len({s["pushed"] for s in seen if 0 < s["pushed"] < PEOPLE}) >= 2, seen
    assert page.csp_violations == []
    assert ForwardingSettings.objects.filter(busy_destination="+13035550100",
                                             synced_version=2).count() == PEOPLE

    # Undo asks first: a page says, person by person, what it will change.
    page.click("#undo-job")
    page.wait_for_selector(".undo-preview")
    assert BulkJob.objects.count() == 1
    first_person = page.locator(".preview-people > li").first
    assert "Person 00" in first_person.text_content()
    assert "Calls go to +1 303 555 0100 when Person 00 is busy." in first_person.text_content()
    assert page.locator(".preview-people > li").count() == PEOPLE
    screenshot(page, "bulk-05-undo-confirm")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "bulk-05-undo-confirm-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("text=Yes, undo job")
    page.wait_for_selector("#job-progress")
    undo = BulkJob.objects.get(kind=BulkJob.UNDO)
    assert page.url.endswith(f"/bulk-jobs/{undo.id}/")
    assert page.csp_violations == []
