"""A bulk job's pushes travel as a few batch messages (outbox.request_push_many): each
holds consecutive slots of at most BATCH_SPAN seconds and BATCH_MAX pushes. How a worker
pushes a batch (forwarding.sync.batches) is in test_batch_delivery.py."""

import time

import pytest
from celery import Celery

from forwarding.models import ForwardingSettings
from forwarding.rules import services
from forwarding.sync import outbox
from tests.cast import make_org, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    sent = []

    def send_task(app, name, args=None, kwargs=None, queue=None, countdown=None, **options):
        sent.append((name.removeprefix("forwarding."), args, kwargs, queue, countdown))

    monkeypatch.setattr(Celery, "send_task", send_task)
    return sent


def test_batches_cut_consecutive_slots_by_span_and_size():
    slots = [(n, 100.0 + n * 0.01) for n in range(60)]  # 100 pushes a second
    cut = list(outbox.batches(slots))
    assert [len(b) for b in cut] == [outbox.BATCH_MAX, outbox.BATCH_MAX, 10]
    assert [item for b in cut for item in b] == slots  # all of them, in order
    slow = [(n, 100.0 + n * 0.2) for n in range(5)]  # 5 a second: two fit in 0.25 s
    assert [len(b) for b in outbox.batches(slow)] == [2, 2, 1]
    for batch in outbox.batches(slow):
        assert batch[-1][1] - batch[0][1] <= outbox.BATCH_SPAN


def test_many_rows_are_pushed_by_batches_at_their_slots(enqueued,
                                                         django_capture_on_commit_callbacks):
    org = make_org("webex", name="Batched")
    org.rate_limit_per_second = 40
    org.save(update_fields=["rate_limit_per_second"])
    people = [make_person(org, number=f"+1202555{7000 + n}") for n in range(30)]
    rows = []
    for person in people:
        row = services.settings_for(person)
        row.version += 1
        row.save(update_fields=["version"])
        rows.append(row)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.request_push_many(rows, queue="bulk", delay=0.0)
    batches = [(args[0], kwargs, queue, countdown)
               for task, args, kwargs, queue, countdown in enqueued if task == "push_batch"]
    assert not [task for task, *_ in enqueued if task == "push_settings"]
    items = [item for batch, *_ in batches for item in batch]
    assert sorted(settings_id for settings_id, _slot in items) == sorted(r.pk for r in rows)
    slots = [slot for _id, slot in items]
    assert slots == sorted(slots)
    # 40 a second: 25 ms apart, so about ten slots per batch.
    gaps = [round(b - a, 3) for a, b in zip(slots, slots[1:], strict=False)]
    assert all(gap == pytest.approx(0.025, abs=0.002) for gap in gaps)
    assert len(batches) >= 3
    for batch, kwargs, queue, countdown in batches:
        assert queue == "bulk" and kwargs == {"slot_reserved": True, "queue": "bulk"}
        assert batch[-1][1] - batch[0][1] <= outbox.BATCH_SPAN
        # Delivered at its first slot (as seen when it was enqueued).
        assert (countdown or 0.0) <= max(0.0, batch[0][1] - time.time()) + 0.05
    # Each row knows when its push is due: the slot its batch holds for it.
    due = dict(ForwardingSettings.objects.filter(pk__in=[r.pk for r in rows])
               .values_list("pk", "next_attempt_at"))
    for settings_id, slot in items:
        assert due[settings_id].timestamp() == pytest.approx(slot, abs=0.01)


def test_a_lost_broker_leaves_the_rows_to_the_sweeper(monkeypatch,
                                                      django_capture_on_commit_callbacks):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(Celery, "send_task", down)
    org = make_org("webex", name="NoBroker")
    person = make_person(org, number="+12025557100")
    row = services.settings_for(person)
    row.version += 1
    row.save(update_fields=["version"])
    with django_capture_on_commit_callbacks(execute=True):
        outbox.request_push_many([row], queue="bulk", delay=0.0)  # does not raise
    row.refresh_from_db()
    assert row.sync_status == "pending" and row.version > row.synced_version
