"""Saving edits for many people and checking that every one of them converged: shared by
the fault-injection and connection tests."""

from collections import Counter

from django.db import transaction

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import services
from portal import audit
from portal.models import AuditEvent

from .harness import wait_until


def destination(n, round_=0):
    return f"+1303{500 + round_}{n % 10000:04d}"


def save_all(people, round_=0):
    actor = audit.Actor.system("fault test")
    for n, person in enumerate(people):
        row = services.settings_for(person)
        row.refresh_from_db()
        with transaction.atomic():
            services.forwarding_update(
                person=person, expected_version=row.version, actor=actor,
                changes={"always_enabled": True, "always_destination": destination(n, round_)})


def assert_converged(sandbox, people, round_=0):
    """Every person synced at their latest version, the sandbox holding the last edit,
    and one success audit row per (person, version) pushed."""
    rows = {r.person_id: r for r in ForwardingSettings.objects.filter(person__in=people)}
    assert all(r.synced_version == r.version for r in rows.values())
    assert {r.sync_status for r in rows.values()} == {SyncStatus.SYNCED}
    at_provider = {p["personId"]: p["settings"] for p in
                   sandbox.control("GET", "webex/people", expect=200).json()}
    for n, person in enumerate(people):
        always = at_provider[person.provider_person_id]["callForwarding"]["always"]
        assert (always["enabled"], always["destination"]) == (True, destination(n, round_))
    successes = Counter(
        (e.person_id, e.data["version"])
        for e in AuditEvent.objects.filter(event="push.succeeded", person__in=people)
    )
    assert successes, "no success rows"
    assert max(successes.values()) == 1, [k for k, v in successes.items() if v > 1][:5]
    for person in people:  # the last version is among them
        assert successes[(person.id, rows[person.id].version)] == 1


def wait_converged(people, timeout, supervised=()):
    ids = [p.id for p in people]

    def done():
        from django.db.models import F

        for worker in supervised:
            worker.supervise()
        return not ForwardingSettings.objects.filter(person_id__in=ids).exclude(
            sync_status=SyncStatus.SYNCED, synced_version=F("version")).exists()

    wait_until(done, timeout, interval=0.25, message="every person converged")
