"""The dry run of a bulk change (`plan`): every requested change checked as
forwarding_update would check it, and what it would change. Writes nothing.

Plans stream: `iter_plan` takes entries one batch at a time (their settings read with
one query per batch) and yields the checked rows as it goes, so a caller that stores or
counts them as they come (forwarding.bulk.drafts) holds one batch, not the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from forwarding.bulk.csvfile import BATCH, CsvFile, Entry, _add, json_value
from forwarding.models import ForwardingSettings
from forwarding.rules import policy_checks, services
from forwarding.rules.directory import LineIndex
from forwarding.rules.validation import Subject, line_keys, validate_proposal
from portal.models import Organization, Person
from providers.capabilities import capabilities_for

# Plans of more rows than this load the org's lines whole (one query) instead of the
# keys each row needs.
PRELOAD_ROWS = 200


@dataclass
class PlanRow:
    line: int
    key: str
    person: Person | None
    errors: dict
    changed: dict = field(default_factory=dict)  # normalised values that would change
    expected_version: int | None = None
    current_version: int | None = None
    diff: list = field(default_factory=list)  # [{"field", "old", "new"}], JSON values
    # Loops through busy, no answer or offline forwarding, keyed by field: shown by the
    # dry run, confirmed by applying it.
    warnings: dict = field(default_factory=dict)

    @property
    def valid(self):
        return not self.errors

    @property
    def person_id(self):
        return self.person.id if self.person is not None else None

    @property
    def person_label(self):
        return self.person.display_name if self.person is not None else ""

    def json_changes(self) -> dict:
        return {name: json_value(value) for name, value in self.changed.items()}


@dataclass
class Plan:
    org: Organization
    rows: list
    file_errors: list = field(default_factory=list)

    @property
    def valid(self):
        return sum(1 for r in self.rows if r.valid)

    @property
    def invalid(self):
        return len(self.rows) - self.valid

    @property
    def changing(self):
        return sum(1 for r in self.rows if r.valid and r.changed)

    @property
    def warned(self):
        """Changes that make a forwarding loop in some conditions: applying the plan
        applies them as confirmed, so whoever starts the job must have said so."""
        return sum(1 for r in self.rows if r.valid and r.changed and r.warnings)


def _messages(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {key: list(messages) for key, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def _batches(items: Iterable, size: int) -> Iterator[list]:
    items = iter(items)
    while batch := list(islice(items, size)):
        yield batch


def iter_plan(org, entries: Iterable[Entry], *, now=None, preload=False) -> Iterator[PlanRow]:
    """Check every entry as forwarding_update would, and say what it would change;
    writes nothing.

    One LineIndex is shared by every row (`preload`: the whole org's lines at once, for
    big plans) and told about each row's would-be change, so a loop made by two rows of
    the same file is found in the dry run too. Rows are checked in order, as the job
    applies them."""
    now = now or timezone.now()
    caps = capabilities_for(org.provider_kind, org.graph_api_version)
    region = org.default_region
    index = LineIndex(org, region=region, preload=preload)
    # The org's destination policy, judged as for an admin (whoever plans a bulk change
    # is one); read once, the people's exceptions once per batch.
    rules = policy_checks.rules_for_org(org)
    seen: dict[int, int] = {}
    for batch in _batches(entries, BATCH):
        ids = [e.person.id for e in batch if e.person is not None]
        settings_of = {row.person_id: row for row in ForwardingSettings.objects
                       .prefetch_related("caller_rules").filter(person_id__in=ids)}
        exceptions = policy_checks.exceptions_by_person(ids) if rules is not None else {}
        for entry in batch:
            policy = None
            if entry.person is not None:
                policy = policy_checks.check_for(
                    entry.person, rules=rules, index=index,
                    exceptions=exceptions.get(entry.person.id, ()))
            yield _check(entry, settings_of, seen, index=index, caps=caps, region=region,
                         now=now, policy=policy)


def _check(entry, settings_of, seen, *, index, caps, region, now, policy=None) -> PlanRow:
    errors = {key: list(messages) for key, messages in entry.errors.items()}
    row = PlanRow(line=entry.line, key=entry.key, person=entry.person, errors=errors,
                  expected_version=entry.expected_version)
    person = entry.person
    if person is None:
        return row
    if person.id in seen:
        _add(errors, "non_field_errors",
             f"{person.display_name} is already on line {seen[person.id]}; one row per "
             "person.")
        return row
    seen[person.id] = entry.line
    settings = settings_of.get(person.id)
    if settings is None:
        settings = ForwardingSettings(person=person)
    current = services.values(settings)
    row.current_version = settings.version
    if entry.expected_version is not None and entry.expected_version != settings.version:
        _add(errors, "version",
             f"Changed since this file was exported: now version {settings.version}, "
             f"the file has version {entry.expected_version}.")
    if errors:
        return row
    subject = Subject(person=person, caps=caps, region=region,
                      own_keys=line_keys(person, region=region),
                      owner_words="the person's own line", policy=policy)
    try:
        changed, _rules = validate_proposal(
            subject=subject, current=current, changes=entry.changes, caller_rules=None,
            now=now, line_index=index, warnings=row.warnings)
    except DjangoValidationError as exc:
        errors.update(_messages(exc))
        return row
    row.changed = changed
    row.diff = [{"field": name, "old": json_value(current.get(name)),
                 "new": json_value(value)} for name, value in changed.items()]
    if changed:
        # note_saved only updates people the index has loaded; load this one first
        # (free once the whole org is loaded) so later rows see the new edges.
        index.resolve(subject.own_keys)
        index.note_saved(person.id, {**current, **changed})
    return row


def plan(org, entries, *, now=None) -> list[PlanRow]:
    """`iter_plan` of a list of entries, as a list."""
    preload = sum(1 for e in entries if e.person is not None) > PRELOAD_ROWS
    return list(iter_plan(org, entries, now=now, preload=preload))


def plan_csv(org, data, *, now=None) -> Plan:
    """The whole plan of a CSV file in memory: for small files (a bulk job created
    straight from an upload, tests). Big files go through forwarding.bulk.drafts."""
    source = CsvFile(data, max_rows=django_settings.BULK_MAX_ROWS)
    problems = source.check()
    if problems:
        return Plan(org=org, rows=[], file_errors=problems)
    rows = list(iter_plan(org, source.entries(org), now=now,
                          preload=source.rows > PRELOAD_ROWS))
    return Plan(org=org, rows=rows)


EDIT_FEATURES = {
    "always": "Always forward",
    "busy": "Forward when busy",
    "no_answer": "Forward when not answered",
    "continuity": "Forward when offline",
}


def edit_description(data: dict) -> str:
    """"Forward when busy: set to 2001 for 12 people" for a bulk edit's job."""
    label = EDIT_FEATURES[data["feature"]]
    count = len(data["people"])
    who = f"{count} {'person' if count == 1 else 'people'}"
    if data["action"] == "off":
        return f"{label}: turned off for {who}"
    return f"{label}: set to {data.get('destination', '').strip()} for {who}"


def edit_changes(feature: str, action: str, destination: str = "") -> dict:
    if action == "off":
        return {f"{feature}_enabled": False}
    return {f"{feature}_enabled": True, f"{feature}_destination": destination}


# Where a plan row's error goes in the bulk edit request (the form and the API share
# the field names): by the ending of the row's error key ("busy_destination").
_REQUEST_FIELD_OF = {"destination": "destination", "enabled": "feature"}
NAMES_SHOWN = 3  # people named after an error that not everybody has
NOBODY_CAN = "Nobody ticked can take this change. Correct it and apply it again."


def edit_refusal(plan: Plan) -> list[tuple[str | None, str]]:
    """The reasons a bulk edit nobody can take is refused, as (request field or None,
    message): a reason everybody shares once, the others followed by the people who
    have it. Shared by the page's form and the API so both say the same."""
    who: dict[tuple[str | None, str], list[str]] = {}
    for row in plan.rows:
        for name, messages in row.errors.items():
            field = _REQUEST_FIELD_OF.get(name.rsplit("_", 1)[-1])
            for message in messages:
                who.setdefault((field, message), []).append(row.person_label or row.key)
    out = []
    for (field, message), names in who.items():
        if len(names) < len(plan.rows):
            shown = ", ".join(names[:NAMES_SHOWN])
            more = len(names) - NAMES_SHOWN
            message = f"{message} ({shown}{f' and {more} more' if more > 0 else ''})"
        out.append((field, message))
    return out


def plan_edit(org, person_ids, *, feature, action, destination="", now=None) -> Plan:
    """The plan of "set (or turn off) <feature> for these people" (people of `org`;
    an id of anyone else is refused as unknown)."""
    # Each person gets the org object we have: loading it per row would decrypt its
    # credentials a thousand times for a thousand people.
    people = {p.id: p for p in Person.objects.filter(org=org, id__in=person_ids)}
    for person in people.values():
        person.org = org
    changes = edit_changes(feature, action, destination)
    entries = []
    for position, person_id in enumerate(person_ids, start=1):
        person = people.get(person_id)
        entry = Entry(line=position, key=str(person_id), person=person, changes=dict(changes))
        if person is None:
            _add(entry.errors, "non_field_errors", "No such person in this organization.")
        entries.append(entry)
    return Plan(org=org, rows=plan(org, entries, now=now))
