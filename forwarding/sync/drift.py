"""Drift: settings changed in the provider's own console, behind the portal's back.

A periodic read-back (and a button) compares the provider's state with ours for people
who are in sync. A difference is shown and audited once; an admin then adopts the
provider's state or pushes ours again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import policy_checks, services, validation
from forwarding.rules.selectors import desired_state
from forwarding.sync import delivery, outbox, readback
from portal import audit
from providers.base import ForwardingState, ProviderError, ScheduleState

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=django_settings.DRIFT_CHECK_MINUTES)

CHECK_TASK = "forwarding.drift_check"  # registered by forwarding.sync.tasks


def enqueue_check(settings_id, *, queue="bulk"):
    """Queue a read-back of one person's provider state. Raises when the broker is down
    (the page says so; beat's next round catches up)."""
    current_app.send_task(CHECK_TASK, args=[settings_id], queue=queue, retry=False)

def due_for_check(limit=500):
    """Synced rows of push providers not checked (or pushed) recently."""
    cutoff = timezone.now() - CHECK_EVERY
    return list(
        ForwardingSettings.objects.filter(version=F("synced_version"),
                                          sync_status=SyncStatus.SYNCED)
        .filter(Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=cutoff))
        .filter(Q(drift_checked_at__isnull=True) | Q(drift_checked_at__lt=cutoff))
        .order_by("drift_checked_at").values_list("pk", flat=True)[:limit]
    )


def check(settings_id):
    """Read the provider's state back; record drift when it differs. Returns the drift
    state dict, or None when in sync (or not checkable right now)."""
    row = ForwardingSettings.objects.select_related("person__org", "push_via_partner").get(
        pk=settings_id)
    if not outbox.is_pushed(row) or row.version != row.synced_version:
        return None  # a push is on its way; comparing now would flag our own change
    try:
        theirs = readback.provider_state(row)
    except ProviderError as exc:
        log.warning("drift check of settings %s failed: %s", settings_id, exc.raw[:300])
        return None
    caps = row.person.org.capabilities
    ours = desired_state(row)
    now = timezone.now()
    if readback.comparable(theirs, caps) == readback.comparable(ours, caps):
        ForwardingSettings.objects.filter(pk=row.pk).update(
            drift_checked_at=now, drift_detected_at=None, drift_state=None)
        return None
    with transaction.atomic():
        current = ForwardingSettings.objects.select_for_update().get(pk=row.pk)
        if current.version != row.version:
            return None  # edited meanwhile: the coming push settles it
        theirs_dict = theirs.to_dict()
        already = current.drift_state == theirs_dict
        ForwardingSettings.objects.filter(pk=row.pk).update(
            drift_checked_at=now, drift_state=theirs_dict,
            drift_detected_at=current.drift_detected_at if already else now,
            # What the provider holds beyond call forwarding is ours to override or adopt:
            # the next push reads and writes the whole person.
            person_settings_held=current.person_settings_held
            or delivery.beyond_call_forwarding(theirs),
        )
        if not already:
            audit.record(
                event=audit.Event.DRIFT_DETECTED, actor=audit.Actor.system("drift check"),
                person=row.person, old=readback.comparable(ours, caps),
                new=readback.comparable(theirs, caps), data={"version": row.version},
            )
    return theirs_dict


@transaction.atomic
def override(*, settings: ForwardingSettings, actor: audit.Actor):
    """Push our state again over the provider's: a new version, audited."""
    row = ForwardingSettings.objects.select_for_update().select_related("person__org").get(
        pk=settings.pk)
    if row.drift_state is None:
        return row
    row.version += 1
    row.updated_by_label = actor.label[:200]
    row.drift_state = None
    row.drift_detected_at = None
    row.save(update_fields=["version", "updated_by_label", "drift_state",
                            "drift_detected_at", "updated_at"])
    audit.record(event=audit.Event.DRIFT_OVERRIDDEN, actor=actor, person=row.person,
                 data={"version": row.version})
    outbox.request_push(row, debounce=False)
    return row


def adopt(*, settings: ForwardingSettings, actor: audit.Actor):
    """Take the provider's state as ours: a new version that the provider already has.
    A destination the org's policy forbids refuses the whole adoption (ValidationError
    keyed by field), audited as policy.violation_refused once the transaction is over."""
    check = policy_checks.check_for(settings.person, actor)
    try:
        return _adopt(settings=settings, actor=actor, check=check)
    except ValidationError:
        services.record_refusals(person=settings.person, actor=actor, check=check)
        raise


def _adopt(*, settings, actor, check):
    with transaction.atomic():
        row = ForwardingSettings.objects.select_for_update().select_related("person__org").get(
            pk=settings.pk)
        if row.drift_state is None:
            return row
        theirs = ForwardingState.from_dict(row.drift_state)
        if theirs.readback_problems:
            # The portal could only adopt part of it, and the next check would flag the
            # rest again: refuse, in the provider's terms (the page shows the sentences).
            raise ValidationError(list(theirs.readback_problems))
        changes, caller_rules = _changes_from(theirs, row)
        updated = services.forwarding_update(
            person=row.person, changes=changes, expected_version=row.version, actor=actor,
            caller_rules=caller_rules, policy_check=check,
        )
        # The provider holds this state already: nothing to push.
        ForwardingSettings.objects.filter(pk=row.pk).update(
            synced_version=updated.version, sync_status=SyncStatus.SYNCED,
            drift_state=None, drift_detected_at=None, next_attempt_at=None,
        )
        audit.record(event=audit.Event.DRIFT_ADOPTED, actor=actor, person=row.person,
                     new=theirs.to_dict(), data={"version": updated.version})
    return updated


def _changes_from(theirs: ForwardingState, row) -> tuple[dict, list[dict] | None]:
    """The changes (and the caller rules, for a provider that holds them) that make our
    settings what the provider holds."""
    data = theirs.to_dict()
    caps = row.person.org.capabilities
    keep = readback.flat_comparable(theirs, caps)
    changes = {}
    for name, value in data.items():
        if name not in validation.EDITABLE_FIELDS:
            continue  # read-back only (time zone, problems) or not a setting here yet
        if name in keep or name.endswith("_enabled"):
            if name == "simring_targets":
                value = list(value)
            changes[name] = value
    if not delivery.holds_person_settings(caps):
        return changes, None
    # Issue 16's parts, where the portal's settings have them (names as in the model).
    for name in ("simring_confirm", "simring_skip_when_on_call", "dnd_enabled",
                 "dnd_ring_splash"):
        if name in validation.EDITABLE_FIELDS:
            value = data[name]
            changes[name] = list(value) if isinstance(value, list) else value
    if "schedules" in validation.EDITABLE_FIELDS:
        changes["schedules"] = [_schedule_setting(s) for s in theirs.schedules]
    rule_fields = set(validation.RULE_FIELDS)
    caller_rules = [
        {"disposition": "forward", "mask_caller": False, "mask_callee": False,
         **{k: v for k, v in rule.to_dict().items() if k in rule_fields}}
        for rule in theirs.caller_rules
    ]
    return changes, caller_rules


def _schedule_setting(schedule: ScheduleState) -> dict:
    """A ScheduleState in ForwardingSettings.schedules' shape (issue16_model.md)."""
    if schedule.kind == "business_hours":
        hours: dict = {}
        for day, start, end in schedule.hours:
            hours.setdefault(day, []).append([start, end])
        return {"name": schedule.name, "kind": schedule.kind, "hours": hours}
    return {"name": schedule.name, "kind": schedule.kind,
            "dates": [{"name": name, "start": start, "end": end, "yearly": yearly}
                      for name, start, end, yearly in schedule.dates]}
