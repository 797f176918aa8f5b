"""Many people's forwarding changed at once: a bulk job's chunk. The same checks and
promises as forwarding.rules.services.forwarding_update (it shares its steps), paid per
chunk instead of per row: one locking SELECT, one UPDATE, one audit INSERT.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from forwarding.models import ForwardingSettings
from forwarding.rules import emails, policy_checks, services, signals, validation
from forwarding.rules.directory import LineIndex
from portal import audit
from portal.rowsets import update_rows


@dataclass
class Item:
    """One person's change in `forwarding_update_many`. `expected_version` None: the
    stored one, whatever it is. `check(before)`: the caller's own condition on the
    snapshot under the lock, returning errors keyed by field (nothing is changed then)."""

    person: object
    changes: dict
    expected_version: int | None = None
    check: object = None


@dataclass
class Outcome:
    """What `forwarding_update_many` did with one Item: `errors` (keyed by field) when
    refused, else `settings` (its version unchanged when nothing changed); `before` is
    the snapshot read under the lock."""

    settings: ForwardingSettings | None = None
    before: dict | None = None
    errors: dict | None = None
    changed: bool = False


def _errors_of(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {key: list(messages) for key, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def forwarding_update_many(*, items: list[Item], actor: audit.Actor, push_queue="bulk",
                           confirm_loops=False, now=None) -> list[Outcome]:
    """`forwarding_update` for many people of one org (no caller rules) in one
    transaction, set-based: their settings rows locked with one SELECT ... FOR UPDATE,
    one LineIndex shared by every row's loop check (told about each row as it is
    accepted, so two rows that loop together are found), one UPDATE for the rows, one
    INSERT for the audit rows (audit.record_many, announced events included), one
    settings_changed_many for the pushes (slots reserved together, without the debounce,
    each push enqueued when the transaction commits); each person's email as a single
    change sends it. A refused item changes nothing and the others go on;
    outcomes are in the order of `items`."""
    now = now or timezone.now()
    if not items:
        return []
    org = items[0].person.org
    index = LineIndex(org, region=org.default_region)
    # The org's destination policy, read once per chunk (and the people's exceptions in
    # one query), judged with the chunk's index: a policy refusal is a row's error, and is
    # audited (policy.violation_refused) when the chunk commits.
    rules = policy_checks.rules_for_org(org)
    exceptions = (policy_checks.exceptions_by_person([item.person.id for item in items])
                  if rules is not None else {})
    outcomes, saved = [], []
    with transaction.atomic():
        locked = _lock_many([item.person for item in items])
        # Every row's own lines in one query: the index must know each person before it
        # is told about their new edges (note_saved), and the loop checks look them up.
        index.resolve(set().union(*(validation.line_keys(item.person, region=index.region)
                                    for item in items)))
        for item in items:
            settings = locked[item.person.id]
            outcome = Outcome(settings=settings, before=services.snapshot(settings))
            outcomes.append(outcome)
            if item.check is not None and (errors := item.check(outcome.before)):
                outcome.errors = errors
                continue
            expected = item.expected_version
            if expected is not None and expected != settings.version:
                outcome.errors = {"version": [
                    services.StaleVersion(settings.version).message]}
                continue
            check = policy_checks.check_for(
                item.person, actor, rules=rules, index=index,
                exceptions=exceptions.get(item.person.id, ()))
            try:
                prepared = services.prepare_change(
                    settings=settings, person=item.person, changes=dict(item.changes),
                    caller_rules=None, actor=actor, now=now, confirm_loops=confirm_loops,
                    line_index=index, policy=check)
            except ValidationError as exc:
                outcome.errors = _errors_of(exc)
                services.refuse_later(item.person, actor, check)
                continue
            if prepared is None:
                continue
            outcome.changed = True
            # Later rows' loop checks see this row's new edges.
            index.note_saved(item.person.id, {**prepared.current, **prepared.changed})
            saved.append((settings, item.person, prepared))
        if saved:
            _save(saved, actor=actor, now=now, push_queue=push_queue)
    return outcomes


def _save(saved, *, actor, now, push_queue) -> None:
    rows = [settings for settings, _person, _prepared in saved]
    fields = sorted({name for _s, _p, prepared in saved for name in prepared.update_fields})
    for settings in rows:
        settings.updated_at = now  # a many-row UPDATE does not run auto_now
    update_rows(ForwardingSettings, rows, fields)
    entries = [services.audit_entry(settings, person, prepared, actor=actor,
                                    event=services.EVENT_UPDATED)
               for settings, person, prepared in saved]
    audited = audit.record_many(entries)
    # The pushes: slots reserved for the chunk at once, enqueued when it commits.
    signals.settings_changed_many.send(sender=ForwardingSettings, rows=rows,
                                       queue=push_queue, push_delay=0.0)
    # The people's emails: one task for the chunk, read from its audit rows.
    emails.schedule_change_notices(audited)


def _lock_many(people) -> dict:
    """The people's settings rows (created when missing, as settings_for), locked in id
    order (two chunks never wait on each other crosswise), with their caller rules."""
    by_id = {person.id: person for person in people}
    query = (ForwardingSettings.objects.select_for_update(of=("self",))
             .prefetch_related("caller_rules").order_by("pk"))
    locked = {row.person_id: row for row in query.filter(person_id__in=by_id)}
    missing = [person for pid, person in by_id.items() if pid not in locked]
    if missing:
        services.create_missing_settings(missing)
        locked.update({row.person_id: row for row in
                       query.filter(person_id__in=[p.id for p in missing])})
    for person_id, row in locked.items():
        row.person = by_id[person_id]
    return locked
