"""Issue 16 end to end: a Webex person's whole forwarding (business-hours rules, rules
per caller, simultaneous ring, do not disturb) goes through the real pipeline (Celery
worker, Redis, PostgreSQL, the sandbox over HTTP) as one push; a worker SIGKILLed
between two criteria writes leaves no duplicate once another worker finishes; a change
to any Webex resource behind the portal's back is detected.

Needs the Webex capabilities and settings of branch "sched" (caller rules, schedules and
DND supported for Webex, editable schedules); skipped before that merge."""

from datetime import UTC, datetime, timedelta

import pytest

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.rules import services, validation
from forwarding.rules.selectors import desired_state
from forwarding.sync import drift
from portal import audit
from portal.models import AuditEvent
from providers.capabilities import FEATURES, capabilities_for
from providers.sandbox.webex_evaluate import evaluate
from providers.webex_readback import comparable_resources
from tests.providers.webex_reference import portal_decides

from .harness import wait_until
from .test_pipeline import TOKEN, webex_org, webex_person

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        "schedules" not in FEATURES or not capabilities_for("webex").supports("caller_rules")
        or "schedules" not in validation.EDITABLE_FIELDS,
        reason="Webex caller rules and schedules arrive with branch sched"),
]

BOSS, PARTNER = "+12025550111", "+12025550112"
MOBILE, DESK, VOICEMAIL = "+12025550100", "+12025550101", "+12025550102"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def configure(person):
    row = services.settings_for(person)
    row.refresh_from_db()
    return services.forwarding_update(
        person=person,
        changes={
            "schedules": [{"name": "Office hours", "kind": "business_hours",
                           "hours": {d: [["09:00", "17:00"]] for d in WEEKDAYS}}],
            "simring_enabled": True, "simring_targets": [MOBILE, DESK],
            "simring_confirm": [DESK], "dnd_enabled": True,
            "busy_enabled": True, "busy_destination": VOICEMAIL,
        },
        caller_rules=[
            {"callers": [BOSS], "match_anonymous": False, "destination": MOBILE,
             "disposition": "forward", "mask_caller": False, "mask_callee": False,
             "match_all": False, "schedule": "Office hours", "schedule_when": "outside"},
            {"callers": [BOSS, PARTNER], "match_anonymous": True, "destination": DESK,
             "disposition": "forward", "mask_caller": False, "mask_callee": False,
             "match_all": False, "schedule": "", "schedule_when": ""},
        ],
        expected_version=row.version, actor=audit.Actor.system("test"))


def synced(person):
    row = ForwardingSettings.objects.get(person=person)
    return row if row.sync_status == SyncStatus.SYNCED and row.synced_version == row.version \
        else None


def features(sandbox, person):
    view = sandbox.control("GET", f"webex/people/{person.provider_person_id}",
                           expect=200).json()
    return view


def test_everything_converges_in_one_push(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    row = configure(person)
    row = wait_until(lambda: synced(person), 30, message="synced")
    attempts = PushAttempt.objects.filter(settings=row, version=row.version)
    assert [a.outcome for a in attempts] == ["succeeded"]
    view = features(sandbox, person)
    assert view["features"]["doNotDisturb"]["enabled"] is True
    assert len(view["features"]["criteria"]) == 3
    state = desired_state(row)
    start = datetime(2026, 11, 30, tzinfo=UTC)
    for hour in range(24 * 7):
        at = start + timedelta(hours=hour, minutes=7)
        for caller in (BOSS, PARTNER, None, "+12025550199"):
            assert evaluate(view, caller=caller, at=at, zone=state.time_zone)["targets"] == \
                portal_decides(state, caller=caller, at=at)
    assert drift.check(row.pk) is None


def test_worker_killed_between_criteria_writes_leaves_no_duplicate(sandbox, make_worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    worker = make_worker("w1", beat=True)
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"personId": person.provider_person_id, "path": "selectiveForward/criteria"},
        "delayMs": 3000, "count": 2})
    configure(person)
    wait_until(lambda: len((features(sandbox, person)["features"] or {}).get("criteria", ()))
               >= 1, 30, message="first criterion written")
    worker.kill()
    make_worker("w2", beat=True)
    wait_until(lambda: synced(person), 60, message="converged after the kill")
    criteria = features(sandbox, person)["features"]["criteria"]
    bodies = [tuple(sorted((k, str(v)) for k, v in c.items() if k != "id")) for c in criteria]
    assert len(bodies) == len(set(bodies)) == 3


@pytest.mark.parametrize("path,body", [
    ("people/{p}/features/doNotDisturb", {"enabled": False}),
    ("telephony/config/people/{p}/simultaneousRing", {"doNotRingIfOnCallEnabled": True}),
    ("telephony/config/people/{p}/selectiveForward", {"enabled": False}),
])
def test_drift_on_any_resource_is_detected(sandbox, worker, path, body):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    configure(person)
    row = wait_until(lambda: synced(person), 30, message="synced")
    assert drift.check(row.pk) is None
    sandbox.http.put(f"{sandbox.url}/webex/v1/" + path.format(p=person.provider_person_id),
                     headers={"Authorization": f"Bearer {TOKEN}"}, json=body, timeout=5)
    assert drift.check(row.pk) is not None
    assert AuditEvent.objects.filter(person=person, event="drift.detected").count() == 1
    drift.override(settings=ForwardingSettings.objects.get(pk=row.pk),
                   actor=audit.Actor.system("test"))
    wait_until(lambda: synced(person), 30, message="pushed over")
    assert drift.check(row.pk) is None
    assert comparable_resources(desired_state(ForwardingSettings.objects.get(pk=row.pk)))


def test_drift_on_dnd_and_a_criterion_can_be_adopted(sandbox, worker):
    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    configure(person)
    row = wait_until(lambda: synced(person), 30, message="synced")
    pid = person.provider_person_id
    auth = {"Authorization": f"Bearer {TOKEN}"}
    base = f"{sandbox.url}/webex/v1"
    sandbox.http.put(f"{base}/people/{pid}/features/doNotDisturb", headers=auth,
                     json={"enabled": False}, timeout=5)
    criterion = next(c for c in features(sandbox, person)["features"]["criteria"]
                     if c["phoneNumbers"] == [PARTNER])
    body = {k: v for k, v in criterion.items() if k != "id"}
    sandbox.http.put(f"{base}/telephony/config/people/{pid}/selectiveForward/criteria/"
                     f"{criterion['id']}", headers=auth,
                     json={**body, "forwardToPhoneNumber": "+12025550177"}, timeout=5)
    assert drift.check(row.pk) is not None
    adopted = drift.adopt(settings=ForwardingSettings.objects.get(pk=row.pk),
                          actor=audit.Actor.system("test"))
    assert adopted.dnd_enabled is False
    destinations = {tuple(r.callers): r.destination for r in adopted.caller_rules.all()}
    assert destinations[(PARTNER,)] == "+12025550177"
    assert drift.check(row.pk) is None  # what the portal now says is what Webex holds


def test_call_forwarding_alone_is_one_request_and_turning_the_rest_off_is_whole(
        sandbox, worker):
    """A person who only forwards calls costs Webex one PUT per push, as before issue 16
    (reads of four more resources would spend five requests of the org's rate per
    person). Once DND was pushed, the push that turns it off is whole, and after it the
    person is back to one request."""
    from tests.integration.test_pipeline import edit

    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    pid = person.provider_person_id

    def requests_for_version(version):
        edit_row = wait_until(lambda: synced(person), 30, message=f"version {version}")
        assert edit_row.version == version
        attempt = PushAttempt.objects.get(settings=edit_row, version=version,
                                          outcome="succeeded")
        return attempt.requests

    def dnd_held():
        return features(sandbox, person)["features"]["doNotDisturb"]["enabled"]

    edit(person, always_enabled=True, always_destination=MOBILE)
    assert requests_for_version(2) == 1
    assert [r["method"] for r in sandbox.requests(pid)] == ["PUT"]

    edit(person, dnd_enabled=True)
    assert requests_for_version(3) > 1
    assert dnd_held() is True
    assert ForwardingSettings.objects.get(person=person).person_settings_held

    edit(person, dnd_enabled=False)
    assert requests_for_version(4) > 1
    assert dnd_held() is False
    assert not ForwardingSettings.objects.get(person=person).person_settings_held

    edit(person, always_destination=DESK)
    assert requests_for_version(5) == 1


def test_dnd_set_in_webex_makes_the_override_whole(sandbox, worker):
    """DND switched on in Webex's own console is drift the portal saw: overriding it reads
    and writes the whole person, so DND goes off again, though the portal never set it."""
    from tests.integration.test_pipeline import edit

    org = webex_org(sandbox)
    person = webex_person(sandbox, org)
    pid = person.provider_person_id
    edit(person, always_enabled=True, always_destination=MOBILE)
    row = wait_until(lambda: synced(person), 30, message="synced")
    sandbox.http.put(f"{sandbox.url}/webex/v1/people/{pid}/features/doNotDisturb",
                     headers={"Authorization": f"Bearer {TOKEN}"},
                     params={"orgId": org.provider_org_id},
                     json={"enabled": True, "ringSplashEnabled": False}, timeout=10)
    assert drift.check(row.pk) is not None
    drift.override(settings=row, actor=audit.Actor.system("test"))
    wait_until(lambda: synced(person) if ForwardingSettings.objects.get(
        person=person).version == row.version + 1 else None, 30, message="override pushed")
    assert features(sandbox, person)["features"]["doNotDisturb"]["enabled"] is False
