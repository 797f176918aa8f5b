"""The push pipeline end to end: a real Celery worker process on Redis, PostgreSQL, and
the provider sandbox over HTTP. Each test states one promise of issue 5."""

import threading
import time

import pytest

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.rules import services
from forwarding.sync import drift
from portal import audit
from portal.models import AuditEvent, Delegation
from tests.cast import make_org, make_person, make_user

from .harness import wait_until

pytestmark = pytest.mark.integration

TOKEN = "it-webex-token"


def webex_org(sandbox, *, org_id="it-org", token=TOKEN, rate=50):
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": token, "orgId": org_id, "partnerFor": []})
    return make_org("webex", provider_org_id=org_id, base_url=f"{sandbox.url}/webex/v1",
                    credentials={"token": token}, rate_limit_per_second=rate)


def webex_person(sandbox, org, n=1):
    person = make_person(org, provider_person_id=f"person-{org.provider_org_id}-{n}")
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": org.provider_org_id, "personId": person.provider_person_id})
    return person


def edit(person, actor=None, **changes):
    row = services.settings_for(person)
    row.refresh_from_db()
    return services.forwarding_update(
        person=person, changes=changes, expected_version=row.version,
        actor=actor or audit.Actor.system("test"),
    )


def always(destination):
    return {"always_enabled": True, "always_destination": destination}


def synced(person):
    row = ForwardingSettings.objects.get(person=person)
    return row if row.sync_status == SyncStatus.SYNCED and row.synced_version == row.version \
        else None


def puts(sandbox, person):
    return [r for r in sandbox.requests(person.provider_person_id) if r["method"] == "PUT"]


def test_a_change_reaches_the_sandbox(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    edit(person, **always("+12025550199"))
    row = wait_until(lambda: synced(person), 20, message="synced")
    state = sandbox.webex_state(person.provider_person_id, TOKEN)
    assert state["callForwarding"]["always"] == {
        "enabled": True, "destination": "+12025550199",
        "ringReminderEnabled": False, "destinationVoicemailEnabled": False,
    }
    attempt = PushAttempt.objects.get(settings=row)
    assert (attempt.outcome, attempt.status_code, attempt.version) == ("succeeded", 204, 2)
    assert attempt.tracking_id.startswith("SANDBOX_")
    event = AuditEvent.objects.get(person=person, event="push.succeeded")
    assert event.data["version"] == 2 and event.data["status"] == 204
    assert event.data["tracking_id"] == attempt.tracking_id


def test_redis_down_at_commit_then_back(sandbox, broker, make_worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    broker.stop()
    started = time.monotonic()
    edit(person, **always("+12025550123"))  # the enqueue fails: Redis is down
    assert time.monotonic() - started < 5, "saving must not hang on a dead broker"
    row = ForwardingSettings.objects.get(person=person)
    assert row.version == 2 and row.synced_version == 1  # 1: the initial, empty state
    broker.start()
    make_worker("w1", beat=True)  # beat's sweeper finds the row
    wait_until(lambda: synced(person), 30, message="synced after Redis is back")
    state = sandbox.webex_state(person.provider_person_id, TOKEN)
    assert state["callForwarding"]["always"]["destination"] == "+12025550123"


def test_worker_killed_mid_push_converges_after_restart(sandbox, make_worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    worker = make_worker("w1", beat=True)
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"personId": person.provider_person_id}, "delayMs": 3000, "count": 1})
    edit(person, **always("+12025550111"))
    wait_until(lambda: PushAttempt.objects.filter(settings__person=person,
                                                  outcome="in_flight").exists(),
               20, message="push in flight")
    worker.kill()
    edit(person, **always("+12025550222"))  # and a later edit while no worker runs
    make_worker("w2", beat=True)
    row = wait_until(lambda: synced(person), 40, message="converged after restart")
    assert row.synced_version == 3
    state = sandbox.webex_state(person.provider_person_id, TOKEN)
    assert state["callForwarding"]["always"]["destination"] == "+12025550222"
    # The killed attempt stays visible as never completed.
    assert PushAttempt.objects.filter(settings=row, outcome="in_flight").count() == 1


def test_429_is_not_retried_before_retry_after(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"personId": person.provider_person_id}, "status": 429, "retryAfter": 2,
        "count": 1})
    edit(person, **always("+12025550144"))
    wait_until(lambda: synced(person), 30, message="synced after 429")
    log = puts(sandbox, person)
    assert [r["status"] for r in log] == [429, 204]
    assert log[1]["start"] - log[0]["end"] >= 2.0
    retry = AuditEvent.objects.get(person=person, event="push.retrying")
    assert retry.data["status"] == 429 and retry.data["retry_in_s"] >= 2.0


def test_permanent_403_is_tried_once_and_fails_with_a_human_message(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"personId": person.provider_person_id}, "status": 403, "count": 50})
    edit(person, **always("+12025550155"))
    row = wait_until(
        lambda: ForwardingSettings.objects.filter(person=person,
                                                  sync_status=SyncStatus.FAILED).first(),
        20, message="failed")
    time.sleep(1.5)  # give a wrong retry the chance to happen before counting
    assert len(puts(sandbox, person)) == 1
    assert row.last_error.startswith("Webex Calling refused: the portal may not change this person")
    assert "{" not in row.last_error  # no raw provider body on the page
    event = AuditEvent.objects.get(person=person, event="push.failed")
    assert event.data["permanent"] is True and event.data["status"] == 403


def test_ten_quick_edits_coalesce(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    started = time.monotonic()
    for n in range(10):
        edit(person, **always(f"+1202555{n:04d}"))
    assert time.monotonic() - started < 1.0
    row = wait_until(lambda: synced(person), 20, message="synced")
    assert row.version == 11
    writes = puts(sandbox, person)
    assert 1 <= len(writes) <= 2, writes
    state = sandbox.webex_state(person.provider_person_id, TOKEN)
    assert state["callForwarding"]["always"]["destination"] == "+12025550009"


def test_duplicate_messages_cause_no_extra_write(sandbox, worker):
    from forwarding.sync.outbox import enqueue_push

    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    row = edit(person, **always("+12025550166"))
    wait_until(lambda: synced(person), 20, message="synced")
    for _ in range(3):
        enqueue_push(row.pk)
    time.sleep(1.5)
    assert len(puts(sandbox, person)) == 1


def test_two_workers_never_push_one_person_concurrently(sandbox, make_worker):
    org = webex_org(sandbox, rate=200)
    people = [webex_person(sandbox, org, n) for n in range(3)]
    make_worker("w1", concurrency=3, beat=True)
    make_worker("w2", concurrency=3)
    for person in people:
        sandbox.control("POST", "faults", expect=201, json={
            "match": {"personId": person.provider_person_id}, "delayMs": 150, "count": 100})

    def editor(person):
        for n in range(8):
            edit(person, **always(f"+1202556{n:04d}"))
            time.sleep(0.3)

    threads = [threading.Thread(target=editor, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for person in people:
        wait_until(lambda p=person: synced(p), 30, message="synced")
    stats = sandbox.control("GET", "stats", expect=200).json()
    per_person = stats["maxConcurrentPerPerson"]
    assert set(per_person) == {p.provider_person_id for p in people}
    assert max(per_person.values()) == 1, per_person
    for person in people:
        state = sandbox.webex_state(person.provider_person_id, TOKEN)
        assert state["callForwarding"]["always"]["destination"] == "+12025560007"


def test_drift_is_detected_adopted_and_pushed_over(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    admin = make_user(org=org, role="admin", mfa=True)
    actor = audit.Actor.for_user(admin)
    edit(person, **always("+12025550177"))
    wait_until(lambda: synced(person), 20, message="synced")
    row = ForwardingSettings.objects.get(person=person)
    assert drift.check(row.pk) is None  # in sync: nothing to report

    # Someone changes it in "Control Hub", behind the portal's back.
    sandbox.http.put(
        f"{sandbox.url}/webex/v1/people/{person.provider_person_id}/features/callForwarding",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"callForwarding": {"always": {"destination": "+12025550888"}}}, timeout=5)
    found = drift.check(row.pk)
    assert found["always_destination"] == "+12025550888"
    detected = AuditEvent.objects.get(person=person, event="drift.detected")
    assert detected.old["always_destination"] == "+12025550177"
    assert detected.new["always_destination"] == "+12025550888"
    drift.check(row.pk)  # seen again: not audited twice
    assert AuditEvent.objects.filter(person=person, event="drift.detected").count() == 1

    writes_before = len(puts(sandbox, person))
    adopted = drift.adopt(settings=ForwardingSettings.objects.get(pk=row.pk), actor=actor)
    assert adopted.always_destination == "+12025550888"
    time.sleep(1.0)
    row.refresh_from_db()
    assert (row.sync_status, row.synced_version) == (SyncStatus.SYNCED, row.version)
    assert len(puts(sandbox, person)) == writes_before  # nothing to push: Webex has it

    # Drift again; this time the admin pushes the portal's state over it.
    sandbox.http.put(
        f"{sandbox.url}/webex/v1/people/{person.provider_person_id}/features/callForwarding",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"callForwarding": {"always": {"enabled": False}}}, timeout=5)
    assert drift.check(row.pk)["always_enabled"] is False
    drift.override(settings=ForwardingSettings.objects.get(pk=row.pk), actor=actor)
    wait_until(lambda: synced(person), 20, message="pushed over")
    state = sandbox.webex_state(person.provider_person_id, TOKEN)
    assert state["callForwarding"]["always"]["enabled"] is True
    assert state["callForwarding"]["always"]["destination"] == "+12025550888"
    assert AuditEvent.objects.filter(person=person, event="drift.overridden").count() == 1


def test_partner_change_uses_partner_token_and_customer_org_id(sandbox, worker):
    customer = webex_org(sandbox, org_id="customer-org", token="customer-token")
    sandbox.control("POST", "tokens", expect=201, json={
        "token": "partner-token", "orgId": "partner-org", "partnerFor": ["customer-org"]})
    partner = make_org("webex", provider_org_id="partner-org",
                       base_url=f"{sandbox.url}/webex/v1", credentials={"token": "partner-token"})
    Delegation.objects.create(customer=customer, partner=partner)
    partner_admin = make_user(org=partner, role="admin", mfa=True)
    person = webex_person(sandbox, customer)
    edit(person, actor=audit.Actor.for_user(partner_admin, via_partner=partner),
         **always("+12025550200"))
    wait_until(lambda: synced(person), 20, message="synced")
    (write,) = puts(sandbox, person)
    assert write["query"] == {"orgId": "customer-org"}
    assert write["status"] == 204


def test_ucwa_forbidden_gives_the_enterprise_voice_message(sandbox, worker):
    org = make_org("ucwa", provider_org_id="ucwa-org", base_url=f"{sandbox.url}/ucwa/v1",
                   credentials={"token": "ucwa-token"})
    person = make_person(org, provider_person_id="app-1")
    sandbox.control("POST", "ucwa/applications", expect=201, json={
        "applicationId": "app-1", "token": "ucwa-token", "orgId": "ucwa-org"})
    edit(person, **always("+12025550300"))
    wait_until(lambda: synced(person), 20, message="synced")
    app_state = sandbox.http.get(
        f"{sandbox.url}/ucwa/v1/applications/app-1/me/callForwardingSettings",
        headers={"Authorization": "Bearer ucwa-token"}, timeout=5).json()
    assert app_state["activeSetting"] == "immediateForward"
    assert app_state["immediateForwardTarget"] == "tel:+12025550300"

    sandbox.control("PATCH", "ucwa/applications/app-1", expect=200,
                    json={"errors": {"Forbidden": True}})
    edit(person, always_enabled=False)
    row = wait_until(
        lambda: ForwardingSettings.objects.filter(person=person,
                                                  sync_status=SyncStatus.FAILED).first(),
        20, message="failed")
    assert row.last_error == (
        "Skype for Business (UCWA) refused: this person is not enabled for Enterprise "
        "Voice, or the administrator has disabled call forwarding to custom numbers."
    )


def test_a_newer_edit_is_pushed_after_an_older_one_fails_for_good(sandbox, worker):
    # Issue 12.1: a 400 on the first write arrives after a second edit was saved; the
    # failure ends version 2 only, and version 3 is pushed.
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"personId": person.provider_person_id}, "status": 400, "delayMs": 1500,
        "count": 1})
    edit(person, **always("+12025550171"))
    wait_until(lambda: len(puts(sandbox, person)) >= 1 or PushAttempt.objects.filter(
        settings__person=person).exists(), 20, message="first push in flight")
    edit(person, **always("+12025550172"))
    row = wait_until(lambda: synced(person), 30, message="newer version synced")
    assert row.version == 3
    state = sandbox.webex_state(person.provider_person_id, TOKEN)
    assert state["callForwarding"]["always"]["destination"] == "+12025550172"
    failed = AuditEvent.objects.get(person=person, event="push.failed")
    assert failed.data["version"] == 2 and failed.data["permanent"] is True
    delivered = AuditEvent.objects.get(person=person, event="push.succeeded")
    assert delivered.data["version"] == 3
    assert [r["status"] for r in puts(sandbox, person)] == [400, 204]
