"""Every write to a person's forwarding. Each service runs in one transaction: it locks the
settings row, validates, saves only what changed, bumps `version`, writes its audit row
and asks the pipeline to push, so a change, its audit row and its push request are
committed together or not at all.

Event codes written here: forwarding.updated, forwarding.restored,
forwarding.window_started, forwarding.window_ended, policy.violation_refused (after the
refused transaction, see record_refusals).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from forwarding.models import CallerRule, ForwardingSettings, SyncStatus
from forwarding.rules import emails, permissions, policy_checks, selectors, signals, validation
from portal import audit
from portal.models import AuditEvent

log = logging.getLogger(__name__)

EVENT_UPDATED = audit.Event.FORWARDING_UPDATED
EVENT_RESTORED = audit.Event.FORWARDING_RESTORED
EVENT_WINDOW_STARTED = audit.Event.WINDOW_STARTED
EVENT_WINDOW_ENDED = audit.Event.WINDOW_ENDED
# Events whose `new` value is a full snapshot that can be restored.
RESTORABLE_EVENTS = (EVENT_UPDATED, EVENT_RESTORED, EVENT_WINDOW_STARTED, EVENT_WINDOW_ENDED)

WINDOW_ACTOR_LABEL = "time window"


class StaleVersion(Exception):
    """The caller's expected_version is not the stored one: somebody else saved first."""

    def __init__(self, current_version: int):
        self.current_version = current_version
        self.message = (
            f"Somebody else changed these settings (now version {current_version}) after "
            "you opened them. Review the current settings and try again."
        )
        super().__init__(self.message)


# --- reading a row as values and as a snapshot ---------------------------------------------


def _rule_dict(rule: CallerRule) -> dict:
    return {name: getattr(rule, name) for name in validation.RULE_FIELDS}


def values(settings: ForwardingSettings) -> dict:
    """The editable settings as Python values, plus the caller rules in order."""
    data = {name: getattr(settings, name) for name in validation.EDITABLE_FIELDS}
    data["simring_targets"] = list(data["simring_targets"] or [])
    data["simring_confirm"] = list(data["simring_confirm"] or [])
    data["schedules"] = list(data["schedules"] or [])
    # An unsaved row (a page showing a person who never had settings) has no rules.
    rules = settings.caller_rules.all() if settings.pk is not None else []
    data["caller_rules"] = [_rule_dict(r) for r in rules]
    return data


def _json_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def snapshot(settings: ForwardingSettings) -> dict:
    """Every setting, the caller rules, the window's state and the version, JSON-able.

    The shape of audit old/new values and what restore reads back:
    {"version": 7, "always_enabled": true, "always_destination": "+12025550100", ...,
     "window_start": "2026-03-02T08:00:00+00:00", "window_state": "scheduled",
     "schedules": [{"name": "Office hours", "kind": "business_hours", "hours": {...}}],
     "caller_rules": [{"callers": [...], "match_anonymous": false, "destination": "...",
                       "disposition": "forward", "mask_caller": false,
                       "mask_callee": false, "match_all": false,
                       "schedule": "Office hours", "schedule_when": "outside"}]}"""
    data = {name: _json_value(value) for name, value in values(settings).items()}
    data["window_state"] = settings.window_state
    data["version"] = settings.version
    return data


def settings_for(person) -> ForwardingSettings:
    """The person's settings row, created with everything off when missing.

    A new row counts as already delivered (synced_version = version): the portal has
    expressed no wish yet, and pushing "everything off" would wipe what the person set in
    the provider's own console."""
    settings, created = ForwardingSettings.objects.get_or_create(
        person=person, defaults=_initial_values(person))
    settings.person = person  # spares a query in the outbox and pages
    return settings


def _initial_values(person) -> dict:
    return {"version": 1, "synced_version": 1, "sync_status": _initial_status(person)}


def create_missing_settings(people) -> None:
    """`settings_for` for many people at once: the missing rows inserted with one query
    (a row created meanwhile by someone else is kept as it is)."""
    ForwardingSettings.objects.bulk_create(
        [ForwardingSettings(person=person, **_initial_values(person)) for person in people],
        ignore_conflicts=True)


def _initial_status(person):
    if selectors.caps_for(person).delivery != "push":
        return SyncStatus.NOT_PUSHED
    return SyncStatus.PENDING


def _window_state(merged: dict, now: datetime) -> str:
    if not merged["window_enabled"] or merged["window_start"] is None or \
            merged["window_end"] is None:
        return ""
    if now < merged["window_start"]:
        return "scheduled"
    if now < merged["window_end"]:
        return "active"
    return "ended"


def subject_for(person, caps, policy=None) -> validation.Subject:
    """The Subject a change of `person` is validated as (a save, a restore, a preview).
    `policy`: the write's policy_checks.PolicyCheck (None: the policy is not applied)."""
    region = person.org.default_region
    return validation.Subject(
        person=person,
        caps=caps,
        region=region,
        own_keys=validation.line_keys(person, region=region),
        owner_words="the person's own line",
        policy=policy,
    )


def record_refusals(*, person, actor, check) -> None:
    """The audit row (announced) of a write the destination policy refused. Called after
    the refused write's transaction is over: validation writes nothing, and a row written
    inside the rolled-back atomic block would vanish with it."""
    if check is None or not check.refusals:
        return
    _audit_refusals(person, actor, list(check.refusals))
    check.refusals.clear()


def refuse_later(person, actor, check) -> None:
    """After a ValidationError: audit the policy's refusals once the surrounding
    transaction commits (at once outside one: on_commit runs its function then). An
    outer transaction that rolls back drops them: its caller records them itself
    (forwarding.sync.drift.adopt); a bulk job's row commits its outcome, and them."""
    if check is None or not check.refusals:
        return
    refusals = list(check.refusals)
    check.refusals.clear()
    transaction.on_commit(lambda: _audit_refusals(person, actor, refusals))


def _audit_refusals(person, actor, refusals) -> None:
    audit.record(event=audit.Event.POLICY_VIOLATION_REFUSED, actor=actor, person=person,
                 data={"refused": refusals[:20]})


# --- updating ------------------------------------------------------------------------------


def _lock(person, expected_version) -> ForwardingSettings:
    locked = ForwardingSettings.objects.select_for_update().prefetch_related("caller_rules")
    try:
        settings = locked.get(person=person)
    except ForwardingSettings.DoesNotExist:
        # Only a person's first edit creates the row; every later one locks it in one query.
        settings_for(person)
        settings = locked.get(person=person)
    settings.person = person
    if not isinstance(expected_version, int) or settings.version != expected_version:
        raise StaleVersion(settings.version)
    return settings


@dataclass
class Prepared:
    """A validated change applied to the (locked) settings object, not saved yet."""

    old: dict  # the snapshot before
    current: dict  # values() before
    changed: dict  # the values that change
    rules: list | None  # the new caller rules, None when unchanged
    update_fields: list[str]  # the row's fields to save (version and labels included)


def prepare_change(*, settings, person, changes, caller_rules, actor, now, confirm_loops=False,
                   line_index=None, policy=None) -> Prepared | None:
    """Validate `changes` and set them on `settings` (version bumped); None when nothing
    changes. Writes nothing: the callers save, one row (`_apply`) or many
    (`forwarding_update_many`). `policy`: the write's policy_checks.PolicyCheck (None:
    the org's destination policy is not applied)."""
    caps = selectors.caps_for(person)
    current = values(settings)
    old = snapshot(settings)
    subject = subject_for(person, caps, policy)
    # What the org keeps its members from changing themselves (forwarding.rules.permissions).
    changes, caller_rules = permissions.enforce(
        actor=actor, person=person, subject=subject, current=current, changes=changes,
        caller_rules=caller_rules)

    changed, rules = validation.validate_proposal(
        subject=subject, current=current, changes=changes,
        caller_rules=caller_rules, now=now, confirm_loops=confirm_loops,
        line_index=line_index,
    )
    if not changed and rules is None:
        return None

    merged = {**current, **changed}
    update_fields = list(changed)
    if {"window_enabled", "window_start", "window_end"} & set(changed):
        state = _window_state(merged, now)
        if state != settings.window_state:
            settings.window_state = state
            update_fields.append("window_state")
    for name, value in changed.items():
        if isinstance(value, datetime):
            # As the database hands it back, so the returned row reads as a fresh one.
            value = value.astimezone(UTC)
        setattr(settings, name, value)
    # The pipeline pushes with the credentials of whoever made the latest change: a
    # partner's change goes out with the partner's token and the customer's org id.
    partner_id = actor.via_partner.pk if actor.via_partner is not None else None
    if settings.push_via_partner_id != partner_id:
        settings.push_via_partner_id = partner_id
        update_fields.append("push_via_partner")
    settings.version += 1
    settings.updated_by_label = actor.label[:200]
    return Prepared(old=old, current=current, changed=changed, rules=rules,
                    update_fields=[*update_fields, "version", "updated_by_label",
                                   "updated_at"])


def audit_entry(settings, person, prepared, *, actor, event, data=None) -> dict:
    fields_changed = sorted(set(prepared.changed)
                            | ({"caller_rules"} if prepared.rules is not None else set()))
    return {"event": event, "actor": actor, "person": person, "old": prepared.old,
            "new": snapshot(settings),
            "data": {"changed": fields_changed, "version": settings.version, **(data or {})}}


def after_save(settings, person, prepared, entry, *, actor, push_queue, push_delay=None):
    """After the audit row: ask for the push and queue the person's email."""
    signals.settings_changed.send(sender=ForwardingSettings, settings=settings,
                                  queue=push_queue, push_delay=push_delay)
    emails.schedule_change_notice(person=person, actor=actor, old=prepared.old,
                                  new=entry["new"], event=entry["event"])


def _apply(*, settings, person, changes, caller_rules, actor, event, data=None, now=None,
           push_queue="interactive", confirm_loops=False, policy=None):
    """Validate and save; returns the settings (version unchanged when nothing changed)."""
    now = now or timezone.now()
    prepared = prepare_change(settings=settings, person=person, changes=changes,
                              caller_rules=caller_rules, actor=actor, now=now,
                              confirm_loops=confirm_loops, policy=policy)
    if prepared is None:
        return settings
    settings.save(update_fields=prepared.update_fields)

    if prepared.rules is not None:
        settings.caller_rules.all().delete()
        CallerRule.objects.bulk_create(
            CallerRule(settings=settings, position=i, **rule)
            for i, rule in enumerate(prepared.rules)
        )
        # Drop the prefetched (old) rules and read the new ones. The row itself is not
        # read back: the object already holds every value just saved.
        settings.refresh_from_db(fields=["caller_rules"])
        prefetch_related_objects([settings], "caller_rules")
    entry = audit_entry(settings, person, prepared, actor=actor, event=event, data=data)
    audit.record(**entry)
    after_save(settings, person, prepared, entry, actor=actor, push_queue=push_queue)
    return settings


def forwarding_update(*, person, changes: dict, expected_version: int, actor: audit.Actor,
                      caller_rules: list[dict] | None = None,
                      push_queue: str = "interactive",
                      confirm_loops: bool = False,
                      policy_check=None) -> ForwardingSettings:
    """Change some of a person's settings (and, when given, replace the caller rules).

    Raises StaleVersion when `expected_version` is not the stored version and
    ValidationError (a dict keyed by field) when anything is invalid; nothing is written
    then. Saving values equal to the stored ones changes nothing and bumps nothing.
    `push_queue`: the Celery queue of the resulting push (bulk jobs use "bulk", so
    thousands of pushes never wait in front of one person's edit). A loop through busy,
    no answer or offline forwarding raises validation.LoopWarning (a ValidationError)
    unless `confirm_loops`. A destination the org's policy forbids is a ValidationError
    too, audited as policy.violation_refused (`record_refusals`); `policy_check`: the
    check to use instead of this person's own (drift.adopt keeps it to audit later)."""
    check = policy_check if policy_check is not None else policy_checks.check_for(
        person, actor)
    try:
        with transaction.atomic():
            settings = _lock(person, expected_version)
            return _apply(settings=settings, person=person, changes=dict(changes),
                          caller_rules=caller_rules, actor=actor, event=EVENT_UPDATED,
                          push_queue=push_queue, confirm_loops=confirm_loops, policy=check)
    except ValidationError:
        if policy_check is None:  # a caller's own check is audited by that caller
            refuse_later(person, actor, check)
        raise


def restorable_snapshot(event: AuditEvent, person) -> dict | None:
    if event.person_id != person.id or event.event not in RESTORABLE_EVENTS:
        return None
    if not isinstance(event.new, dict) or "version" not in event.new:
        return None
    return event.new


def restore_changes(snap: dict, *, caps, now=None,
                    locked=frozenset()) -> tuple[dict, list | None, bool]:
    """What restoring `snap` changes: (changes, caller rules or None, whether a time window
    that is over was left out). Features the provider does not support (any more) are left
    as they are, and so are the `locked` ones (a member's restore: what their admins keep
    them from changing, forwarding.rules.permissions) and a time window that is already
    over. Pure: the restore and its preview (forwarding.rules.previews) share it."""
    now = now or timezone.now()
    changes = {
        name: snap[name]
        for name in validation.EDITABLE_FIELDS
        if name in snap and caps.supports(validation.FIELD_FEATURES[name])
        and validation.FIELD_FEATURES[name] not in locked
    }
    skipped_window = False
    end = validation._coerce("window_end", snap.get("window_end"))
    if snap.get("window_enabled") and (end is None or end <= now):
        skipped_window = True
        for name in ("window_enabled", "window_start", "window_end", "window_destination"):
            changes.pop(name, None)
    for name in ("window_start", "window_end"):
        if name in changes:
            changes[name] = validation._coerce(name, changes[name])
    rules = snap.get("caller_rules") if caps.supports("caller_rules") and \
        "caller_rules" not in locked else None
    return changes, rules, skipped_window


def forwarding_restore(*, person, event: AuditEvent, expected_version: int,
                       actor: audit.Actor, confirm_loops: bool = False) -> ForwardingSettings:
    """Bring back the settings as they were after `event` (one of this person's
    forwarding events). A new change: new version, its own audit row, a push
    (`restore_changes` says what is left out). Like forwarding_update, a loop through
    busy, no answer or offline forwarding raises validation.LoopWarning unless
    `confirm_loops` (the old version may loop with the others' settings of today)."""
    snap = restorable_snapshot(event, person)
    if snap is None:
        raise ValidationError({"event": ["This event holds no settings to restore."]})
    now = timezone.now()
    locked = permissions.locked_for_actor(actor, person)
    changes, rules, skipped_window = restore_changes(
        snap, caps=selectors.caps_for(person), now=now, locked=locked)
    data = {"restored_version": snap["version"], "restored_event": event.id}
    if locked:
        data["locked_left_as_they_are"] = sorted(locked)
    if skipped_window:
        data["window_skipped"] = "the time window of that version is over"
    check = policy_checks.check_for(person, actor)
    try:
        with transaction.atomic():
            settings = _lock(person, expected_version)
            return _apply(settings=settings, person=person, changes=changes,
                          caller_rules=rules, actor=actor, event=EVENT_RESTORED, data=data,
                          now=now, confirm_loops=confirm_loops, policy=check)
    except ValidationError:
        refuse_later(person, actor, check)
        raise


# --- time windows ----------------------------------------------------------------------------


def windows_tick(*, now=None) -> int:
    """Move time windows scheduled -> active -> ended; returns how many moved.

    Each move bumps the version (so the pipeline pushes the new effective state), writes
    its audit row and requests a push. Safe to run any number of times and from two
    workers at once: each row is re-read under a lock and moved only if still due."""
    now = now or timezone.now()
    due = ForwardingSettings.objects.filter(window_enabled=True, window_start__lte=now)
    starting = due.filter(window_end__gt=now).exclude(window_state="active")
    ending = due.filter(window_end__lte=now).exclude(window_state="ended")
    ids = list(starting.values_list("id", flat=True)) + list(ending.values_list("id", flat=True))
    moved = 0
    for settings_id in ids:
        if _tick_one(settings_id, now):
            moved += 1
    return moved


def _tick_one(settings_id, now) -> bool:
    with transaction.atomic():
        settings = (
            ForwardingSettings.objects.select_for_update(skip_locked=True)
            .select_related("person__org")
            .prefetch_related("caller_rules")
            .filter(pk=settings_id, window_enabled=True)
            .first()
        )
        if settings is None or settings.window_start is None or settings.window_end is None:
            return False
        if not selectors.caps_for(settings.person).supports("time_window"):
            return False
        if settings.window_start <= now < settings.window_end:
            state, event = "active", EVENT_WINDOW_STARTED
        elif settings.window_end <= now:
            state, event = "ended", EVENT_WINDOW_ENDED
        else:
            return False
        if settings.window_state == state:
            return False  # another worker got here first
        old = snapshot(settings)
        settings.window_state = state
        settings.version += 1
        settings.updated_by_label = WINDOW_ACTOR_LABEL
        settings.save(update_fields=["window_state", "version", "updated_by_label", "updated_at"])
        data = {
            "version": settings.version,
            "destination": settings.window_destination,
            "start": _json_value(settings.window_start),
            "end": _json_value(settings.window_end),
        }
        if state == "ended":
            data["note"] = "The time window ended; the settings from before it apply again."
        audit.record(
            event=event, actor=audit.Actor.system(WINDOW_ACTOR_LABEL),
            person=settings.person, old=old, new=snapshot(settings), data=data,
        )
        signals.settings_changed.send(sender=ForwardingSettings, settings=settings,
                                      queue="interactive")
        return True
