"""Reads for the REST API, bulk changes and the partner's org switcher: people and audit
lists across the orgs a user may see, orgs with their sync health, the CSV format (export
and parsing), the dry run of a bulk change (`plan`: writes nothing), and job progress.

Who may see what still comes from `portal.access`; these functions only shape the rows
(joins, filters, counts) so that a page or an API list costs a constant number of queries
whatever its size. Every rule about forwarding values comes from `forwarding.validation`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, F, Q
from django.utils import timezone

from portal import access
from portal.models import AuditEvent, Organization, Person
from providers.capabilities import capabilities_for

from . import selectors, services
from .models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from .validation import (
    BOOL_FIELDS,
    DATETIME_FIELDS,
    DEFAULTS,
    EDITABLE_FIELDS,
    INT_FIELDS,
    LIST_FIELDS,
    LineIndex,
    Subject,
    line_keys,
    validate_proposal,
)

# --- people -----------------------------------------------------------------------------------


BEHIND = "behind"  # a pseudo status of the filters: version > synced_version, not failed


def people_for(user, *, query="", org_id=None, sync_status=None):
    """The people `user` may see, filtered, by name; org and settings joined (one query
    per page)."""
    people = access.visible_people(user).select_related("org", "forwarding")
    condition = selectors.people_search_condition(query)
    if condition is not None:
        people = people.filter(condition)
    if org_id is not None:
        people = people.filter(org_id=org_id)
    if sync_status == BEHIND:
        people = people.filter(forwarding__version__gt=F("forwarding__synced_version")).exclude(
            forwarding__sync_status=SyncStatus.FAILED)
    elif sync_status:
        people = people.filter(forwarding__sync_status=sync_status)
    return people.order_by("display_name", "id")


class Reach:
    """How one user reaches orgs and people, read once per request (two queries), so a
    list can say per row on whose behalf the user acts without a query per row."""

    def __init__(self, user):
        self.user = user
        self.own_admin = access.own_admin_org_ids(user) if user.is_authenticated else set()
        self.delegated = access.delegated_org_ids(user) if user.is_authenticated else {}

    def partner_for_org(self, org_id):
        """The partner org through which the user administers `org_id`, None when they
        are its own admin (or do not administer it)."""
        if org_id in self.own_admin:
            return None
        return self.delegated.get(org_id)

    def partner_for_person(self, person):
        """Same rule as access.acting_partner, from the facts read once."""
        if person.user_id == self.user.id:
            return None
        return self.partner_for_org(person.org_id)

    def admin_org_ids(self):
        return self.own_admin | set(self.delegated)


# --- audit events -----------------------------------------------------------------------------


def visible_events(user):
    """Audit events `user` may read: those of the orgs they administer (own or delegated),
    as on the org's audit page, and those of their own lines, as on their history page."""
    if not user.is_authenticated:
        return AuditEvent.objects.none()
    org_ids = Reach(user).admin_org_ids()
    own_people = Person.objects.filter(user=user).values("id")
    return AuditEvent.objects.filter(Q(org_id__in=org_ids) | Q(person_id__in=own_people))


def events_for(user, *, person_id=None, actor_id=None, event=None, since=None, until=None,
               org_id=None, correlation_id=None):
    events = visible_events(user).select_related("org", "via_partner")
    if person_id is not None:
        events = events.filter(person_id=person_id)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if org_id is not None:
        events = events.filter(org_id=org_id)
    if correlation_id:
        events = events.filter(correlation_id=correlation_id)
    return selectors.filter_events(events, event=event, since=since, until=until)


# --- organizations and their sync health ------------------------------------------------------


def _health():
    """Counts per org: people, failed pushes, and changes still on their way."""
    behind = Q(people__forwarding__version__gt=F("people__forwarding__synced_version"))
    failed = Q(people__forwarding__sync_status=SyncStatus.FAILED)
    return {
        "people_count": Count("people", distinct=True),
        "failed_count": Count("people", filter=failed, distinct=True),
        "pending_count": Count("people", filter=behind & ~failed, distinct=True),
    }


def orgs_for(user):
    """Orgs the user belongs to or administers through a delegation, with their health
    counts (one query). Each org gets `role`: admin, partner or member, and
    `via_partner`."""
    if not user.is_authenticated:
        return []
    reach = Reach(user)
    member_ids = set(user.memberships.values_list("org_id", flat=True))
    ids = member_ids | reach.admin_org_ids()
    orgs = list(Organization.objects.filter(id__in=ids).annotate(**_health()).order_by("name"))
    for org in orgs:
        org.via_partner = reach.partner_for_org(org.id)
        if org.id in reach.own_admin:
            org.role = "admin"
        elif org.via_partner is not None:
            org.role = "partner"
        else:
            org.role = "member"
    return orgs


def switcher_orgs(user):
    """The orgs a (partner) admin can switch between: every org they administer, own
    ones first, then customer orgs that delegated to them, with health counts."""
    orgs = [o for o in orgs_for(user) if o.role != "member"]
    return sorted(orgs, key=lambda o: (o.role != "admin", o.name.lower()))


# --- bulk jobs --------------------------------------------------------------------------------


def jobs_for(user, *, org_id=None):
    """Bulk jobs of the orgs `user` administers, newest first."""
    if not user.is_authenticated:
        return BulkJob.objects.none()
    jobs = BulkJob.objects.filter(org_id__in=Reach(user).admin_org_ids())
    if org_id is not None:
        jobs = jobs.filter(org_id=org_id)
    return (jobs.select_related("org", "via_partner", "undo_of").prefetch_related("undone_by")
            .order_by("-created_at", "-id"))


def job_for(user, pk) -> BulkJob:
    """The job `pk` if `user` administers its org; Http404 otherwise."""
    from django.http import Http404

    try:
        return jobs_for(user).get(pk=pk)
    except (BulkJob.DoesNotExist, ValueError, TypeError):
        raise Http404("No such bulk job") from None


def _progress_aggregates():
    applied = Q(status__in=[BulkJobRow.APPLIED, BulkJobRow.UNCHANGED])
    reached = Q(person__forwarding__synced_version__gte=F("new_version"))
    return {
        "total": Count("id"),
        "applied": Count("id", filter=applied),
        "failed": Count("id", filter=Q(status__in=[BulkJobRow.FAILED, BulkJobRow.INVALID])),
        "pending": Count("id", filter=Q(status=BulkJobRow.PENDING)),
        "pushed": Count("id", filter=applied & reached),
        "push_failed": Count("id", filter=applied & ~reached & Q(
            person__forwarding__sync_status=SyncStatus.FAILED)),
    }


def _finish_counts(counts) -> dict:
    counts = {name: counts.get(name) or 0 for name in _progress_aggregates()}
    counts["processed"] = counts["applied"] + counts["failed"]
    counts["settled"] = (
        counts["pending"] == 0
        and counts["pushed"] + counts["push_failed"] >= counts["applied"]
    )
    return counts


def job_progress(job) -> dict:
    """Counters of a job's rows in one query.

    applied: saved (or already as asked); failed: refused, stale or in error; pending: not
    processed yet; pushed: applied rows whose provider has at least the version the job
    wrote (call-time providers count at once); push_failed: applied rows whose push
    failed for good; settled: nothing left to happen."""
    return _finish_counts(BulkJobRow.objects.filter(job=job).aggregate(**_progress_aggregates()))


def jobs_progress(jobs) -> dict:
    """job id -> counters, for a page of jobs in one query."""
    ids = [job.pk for job in jobs]
    rows = (BulkJobRow.objects.filter(job_id__in=ids).order_by().values("job_id")
            .annotate(**_progress_aggregates()))
    found = {row.pop("job_id"): row for row in rows}
    return {job_id: _finish_counts(found.get(job_id, {})) for job_id in ids}


def job_rows(job, *, status=None):
    rows = BulkJobRow.objects.filter(job=job).select_related("person__forwarding")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("line", "id")


def row_outcome(row) -> str:
    """One word for a row's state, push included: pending, applied, pushed, push_failed,
    unchanged, failed, invalid."""
    if row.status not in (BulkJobRow.APPLIED, BulkJobRow.UNCHANGED):
        return row.status
    settings = getattr(row.person, "forwarding", None) if row.person_id else None
    if settings is None or row.new_version is None:
        return row.status
    if settings.synced_version >= row.new_version:
        return "pushed" if row.status == BulkJobRow.APPLIED else BulkJobRow.UNCHANGED
    if settings.sync_status == SyncStatus.FAILED:
        return "push_failed"
    return row.status


# --- the CSV format ------------------------------------------------------------------------------

# One row per person. The person is named by provider_person_id, else by email; version
# (optional) is the version the row was read from; display_name is for people and ignored
# on import. Then one column per setting (validation.EDITABLE_FIELDS). See
# docs/bulk-and-api.md.
KEY_COLUMNS = ("email", "provider_person_id")
INFO_COLUMNS = ("display_name",)
SETTING_COLUMNS = EDITABLE_FIELDS
COLUMNS = (*KEY_COLUMNS, *INFO_COLUMNS, "version", *SETTING_COLUMNS)
LIST_SEPARATOR = "|"
_TRUE = {"yes", "y", "true", "1", "on"}
_FALSE = {"no", "n", "false", "0", "off"}
# Spreadsheet apps run a cell that starts with these as a formula; free text (names,
# emails) is exported with a leading apostrophe, which import removes again.
_FORMULA_START = ("=", "+", "-", "@")


def _text_cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def to_cell(name: str, value) -> str:
    """A stored setting as a CSV cell."""
    if name in BOOL_FIELDS:
        return "yes" if value else "no"
    if value is None:
        return ""
    if name in DATETIME_FIELDS:
        if isinstance(value, str):
            return value
        return value.astimezone(UTC).isoformat()
    if name in LIST_FIELDS:
        return LIST_SEPARATOR.join(value or [])
    return str(value)


def from_cell(name: str, text: str):
    """A CSV cell as the Python value the service takes. Only the form of the cell is
    checked here (yes/no, a whole number, a date); what the value means is checked by
    forwarding.validation, as for the forms."""
    if name in BOOL_FIELDS:
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise DjangoValidationError("Write yes or no.")
    if name in INT_FIELDS:
        try:
            return int(text.strip())
        except ValueError:
            raise DjangoValidationError("Enter a whole number.") from None
    if name in DATETIME_FIELDS:
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise DjangoValidationError(
                "Enter a date and time like 2026-03-02T08:00:00+00:00.") from None
        if value.tzinfo is None:
            value = timezone.make_aware(value)  # the portal's time zone, as the forms do
        return value
    if name in LIST_FIELDS:
        return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]
    return text


def change_text(name: str, value) -> str:
    """A value of a change as people read it on the dry-run and job pages: the CSV's
    spelling (yes/no, ISO dates, numbers to ring separated by |), "—" for nothing."""
    if name not in EDITABLE_FIELDS:
        return "—" if value in (None, "") else str(value)
    if name not in BOOL_FIELDS and value in (None, "", []):
        return "—"
    return to_cell(name, value)


def json_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def export_rows(org):
    """The CSV rows (header first) of every person of `org` with their current settings:
    the format import reads, so export, edit, import round-trips. One query, streamed."""
    yield list(COLUMNS)
    people = (Person.objects.filter(org=org).select_related("forwarding")
              .order_by("display_name", "id"))
    for person in people.iterator(chunk_size=2000):
        settings = getattr(person, "forwarding", None)
        version = settings.version if settings is not None else 1
        cells = [_text_cell(person.email), person.provider_person_id,
                 _text_cell(person.display_name), str(version)]
        for name in SETTING_COLUMNS:
            value = getattr(settings, name) if settings is not None else DEFAULTS[name]
            cells.append(to_cell(name, value))
        yield cells


# --- planning a bulk change (the dry run) --------------------------------------------------------


@dataclass
class Entry:
    """One requested change before it is checked: a CSV row or a person of a bulk edit."""

    line: int
    key: str = ""
    person: Person | None = None
    changes: dict = field(default_factory=dict)
    expected_version: int | None = None
    errors: dict = field(default_factory=dict)


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

    @property
    def valid(self):
        return not self.errors

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


def _add(errors, key, message):
    errors.setdefault(key, []).append(message)


def _messages(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {key: list(messages) for key, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def plan(org, entries, *, now=None) -> list[PlanRow]:
    """Check every entry as forwarding_update would, and say what it would change;
    writes nothing.

    What validation needs is read once for the org: the people and their settings (two
    queries) and one LineIndex shared by every row (loaded whole for big plans), told
    about each row's would-be change so that a loop made by two rows of the same file is
    found in the dry run too. Rows are checked in order, as the job applies them."""
    now = now or timezone.now()
    caps = capabilities_for(org.provider_kind, org.graph_api_version)
    region = org.default_region
    ids = [e.person.id for e in entries if e.person is not None]
    stored = ForwardingSettings.objects.prefetch_related("caller_rules")
    stored = stored.filter(person__org=org) if len(ids) > 500 else stored.filter(
        person_id__in=ids)
    settings_of = {row.person_id: row for row in stored}
    index = LineIndex(org, region=region, preload=len(ids) > 200)
    seen: dict[int, int] = {}
    rows = []
    for entry in entries:
        errors = {key: list(messages) for key, messages in entry.errors.items()}
        row = PlanRow(line=entry.line, key=entry.key, person=entry.person, errors=errors,
                      expected_version=entry.expected_version)
        rows.append(row)
        person = entry.person
        if person is None:
            continue
        if person.id in seen:
            _add(errors, "non_field_errors",
                 f"{person.display_name} is already on line {seen[person.id]}; one row per "
                 "person.")
            continue
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
            continue
        subject = Subject(person=person, caps=caps, region=region,
                          own_keys=line_keys(person, region=region),
                          owner_words="the person's own line")
        try:
            changed, _rules = validate_proposal(
                subject=subject, current=current, changes=entry.changes, caller_rules=None,
                now=now, line_index=index)
        except DjangoValidationError as exc:
            errors.update(_messages(exc))
            continue
        row.changed = changed
        row.diff = [{"field": name, "old": json_value(current.get(name)),
                     "new": json_value(value)} for name, value in changed.items()]
        if changed:
            # note_saved only updates people the index has loaded; load this one first
            # (free once the whole org is loaded) so later rows see the new edges.
            index.resolve(subject.own_keys)
            index.note_saved(person.id, {**current, **changed})
    return rows


def _people_index(org):
    by_provider_id, by_email = {}, {}
    for person in Person.objects.filter(org=org).select_related("org").order_by("id"):
        by_provider_id[person.provider_person_id] = person
        if person.email:
            by_email.setdefault(person.email.strip().lower(), []).append(person)
    return by_provider_id, by_email


def _strip_apostrophe(text):
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA_START else text


def read_csv(org, data) -> tuple[list[Entry], list[str]]:
    """The entries of a CSV file (bytes or text) and the problems of the file as a whole
    (then there are no entries)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], ["The file is not UTF-8 text. Save it as CSV UTF-8 and try again."]
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], ["The file is empty."]
    except csv.Error as exc:
        return [], [f"This is not a CSV file we can read: {exc}."]
    names = [name.strip().lower() for name in header]
    problems = []
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        problems.append("Unknown column" + ("s" if len(unknown) > 1 else "") + ": "
                        + ", ".join(unknown) + ". The columns are described in "
                        "docs/bulk-and-api.md.")
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        problems.append("Columns listed twice: " + ", ".join(doubled) + ".")
    if not set(KEY_COLUMNS) & set(names):
        problems.append("Add an email or a provider_person_id column to say who each row "
                        "is for.")
    if problems:
        return [], problems

    by_provider_id, by_email = _people_index(org)
    entries = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines
            entries.append(_entry(reader.line_num, names, cells, by_provider_id, by_email))
    except csv.Error as exc:
        return [], [f"Line {reader.line_num}: {exc}."]
    if not entries:
        return [], ["The file has a header but no rows."]
    return entries, []


def _entry(line, names, cells, by_provider_id, by_email) -> Entry:
    entry = Entry(line=line)
    if len(cells) > len(names):
        _add(entry.errors, "non_field_errors",
             f"This row has {len(cells)} cells but the header has {len(names)} columns.")
    row = dict(zip(names, cells, strict=False))
    provider_id = _strip_apostrophe(row.get("provider_person_id", "").strip())
    email = _strip_apostrophe(row.get("email", "").strip())
    if provider_id:
        entry.key = provider_id
        entry.person = by_provider_id.get(provider_id)
        if entry.person is None:
            _add(entry.errors, "provider_person_id",
                 "Nobody in this organization has this provider person id.")
    elif email:
        entry.key = email
        matches = by_email.get(email.lower(), [])
        if len(matches) == 1:
            entry.person = matches[0]
        elif matches:
            _add(entry.errors, "email", f"{len(matches)} people have this email; use "
                 "their provider_person_id instead.")
        else:
            _add(entry.errors, "email", "Nobody in this organization has this email.")
    else:
        _add(entry.errors, "non_field_errors", "Say who this row is for: an email or a "
             "provider_person_id.")
    version = row.get("version", "").strip()
    if version:
        try:
            entry.expected_version = int(version)
        except ValueError:
            _add(entry.errors, "version", "Enter a whole number.")
    for name in SETTING_COLUMNS:
        text = row.get(name, "")
        if not text.strip():
            continue  # an empty cell leaves the setting as it is
        try:
            entry.changes[name] = from_cell(name, text)
        except DjangoValidationError as exc:
            for message in exc.messages:
                _add(entry.errors, name, message)
    return entry


def plan_csv(org, data, *, now=None) -> Plan:
    entries, problems = read_csv(org, data)
    return Plan(org=org, rows=plan(org, entries, now=now) if entries else [],
                file_errors=problems)


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


def plan_edit(org, person_ids, *, feature, action, destination="", now=None) -> Plan:
    """The plan of "set (or turn off) <feature> for these people" (people of `org`;
    an id of anyone else is refused as unknown)."""
    people = {p.id: p for p in Person.objects.filter(org=org, id__in=person_ids)
              .select_related("org")}
    changes = edit_changes(feature, action, destination)
    entries = []
    for position, person_id in enumerate(person_ids, start=1):
        person = people.get(person_id)
        entry = Entry(line=position, key=str(person_id), person=person, changes=dict(changes))
        if person is None:
            _add(entry.errors, "non_field_errors", "No such person in this organization.")
        entries.append(entry)
    return Plan(org=org, rows=plan(org, entries, now=now))
