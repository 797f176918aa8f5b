"""What one push costs the worker, counted so that it cannot creep back (issue 17 item 1:
at 200 pushes a second every statement is CPU the two cores do not have). A push goes
over real HTTP to the sandbox; bench/push_cost.py measures the time, this pins the
statements."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.rules import services
from forwarding.sync import delivery, outbox
from portal import audit
from portal.models import AuditEvent
from tests.cast import make_org, make_person
from tests.integration.harness import SandboxClient

ACTOR = audit.Actor.system("test")


@pytest.fixture
def webex(sandbox_url, transactional_db):
    sandbox = SandboxClient(sandbox_url)
    sandbox.reset()
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": "budget", "orgId": "budget-org", "partnerFor": []})
    org = make_org("webex", provider_org_id="budget-org", base_url=f"{sandbox_url}/webex/v1",
                   credentials={"token": "budget"}, rate_limit_per_second=1000)
    person = make_person(org, provider_person_id="budget-1")
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": "budget-org", "personId": "budget-1"})
    return sandbox, person


def pushed_once(person, monkeypatch, changes, caller_rules=None):
    """Save `changes`, then the statements of the push that delivers them (due now, its
    slot held: as a bulk job's push runs)."""
    monkeypatch.setattr(outbox, "enqueue_push", lambda *args, **kwargs: None)
    row = services.settings_for(person)
    services.forwarding_update(person=person, expected_version=row.version, actor=ACTOR,
                               changes=changes, caller_rules=caller_rules)
    ForwardingSettings.objects.filter(pk=row.pk).update(next_attempt_at=None)
    with CaptureQueriesContext(connection) as queries:
        result = delivery.push(row.pk, slot_reserved=True, admitted=True)
    assert result is not None and result.status_code < 300
    return row.pk, [q["sql"].split()[0] for q in queries.captured_queries]


def test_a_push_costs_a_handful_of_statements(webex, monkeypatch):
    sandbox, person = webex
    row_id, statements = pushed_once(person, monkeypatch, {
        "always_enabled": True, "always_destination": "+12025550199"})
    # The claim that also reads the row, person, org, partner and connections (WITH ...
    # UPDATE ... RETURNING, SELECT); the attempt, recorded before the call; after it, in
    # one transaction, the row and the attempt (WITH ... UPDATE), the audit row and the
    # org's event endpoints (none here: no outgoing event).
    assert statements == ["WITH", "INSERT", "BEGIN", "WITH", "INSERT", "SELECT", "COMMIT"]
    # Every promise kept: synced, claim released, the attempt complete, the audit row.
    row = ForwardingSettings.objects.get(pk=row_id)
    assert (row.sync_status, row.synced_version, row.claim_token, row.claimed_until) == (
        SyncStatus.SYNCED, row.version, "", None)
    attempt = PushAttempt.objects.get(settings_id=row_id)
    assert (attempt.outcome, attempt.version, attempt.status_code) == (
        PushAttempt.SUCCEEDED, row.version, 204)
    assert attempt.finished_at is not None and attempt.requests == 1
    event = AuditEvent.objects.get(event=audit.Event.PUSH_SUCCEEDED.value)
    assert event.data["attempt"] == attempt.pk and event.data["version"] == row.version
    [sent] = [r for r in sandbox.requests("/webex/") if r["method"] == "PUT"]
    assert sent["status"] == 204


def test_a_push_with_caller_rules_reads_them_once(webex, monkeypatch):
    _sandbox, person = webex
    row_id, statements = pushed_once(person, monkeypatch, {
        "always_enabled": True, "always_destination": "+12025550199"},
        caller_rules=[{"callers": ["+12025550123"], "destination": "+12025550188"}])
    # The caller rules are one SELECT more, only for a person who has some; the first
    # whole-person push marks the row before it writes anything (UPDATE).
    assert statements == ["WITH", "SELECT", "UPDATE", "INSERT", "BEGIN", "WITH", "INSERT",
                          "SELECT", "COMMIT"]
    row = ForwardingSettings.objects.get(pk=row_id)
    assert row.sync_status == SyncStatus.SYNCED and row.person_settings_held
