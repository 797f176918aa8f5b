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

    try:
        wait_until(done, timeout, interval=0.25, message="every person converged")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_behind(ids)}\n{_worker_tails(supervised)}") from None


def _behind(ids):
    """The rows still behind: what a reader of a failed run needs first."""
    from django.db.models import F

    rows = ForwardingSettings.objects.filter(person_id__in=ids).exclude(
        sync_status=SyncStatus.SYNCED, synced_version=F("version")).values(
        "pk", "version", "synced_version", "sync_status", "claimed_until",
        "next_attempt_at", "last_error")[:10]
    return "rows behind (first 10): " + "; ".join(str(r) for r in rows)


def _worker_tails(workers, lines=60):
    """The end of each worker's log without the per-task chatter."""
    noise = ("succeeded in", "] received", "Sending due task")
    out = []
    for worker in workers:
        kept = [line for line in worker.output().splitlines()
                if not any(n in line for n in noise)]
        out.append(f"--- worker {worker.name} (alive: {worker.alive()}) ---")
        out.extend(line[:300] for line in kept[-lines:])
    return "\n".join(out)
