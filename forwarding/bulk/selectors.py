"""Reads for the REST API, bulk changes and the partner's org switcher: people and audit
lists across the orgs a user may see, orgs with their sync health, and job progress. The
CSV format lives in forwarding.bulk.csvfile and the dry run in forwarding.bulk.plan; their
public names are re-exported here for the pages and the API.

Who may see what still comes from `portal.access`; these functions only shape the rows
(joins, filters, counts) so that a page or an API list costs a constant number of queries
whatever its size. Every rule about forwarding values comes from `forwarding.rules.validation`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connections
from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone

from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from forwarding.rules import people_lists, previews, selectors, services
from portal import access
from portal.models import AuditEvent, Organization, Person

# --- people -----------------------------------------------------------------------------------


BEHIND = "behind"  # a pseudo status of the filters: version > synced_version, not failed


def people_for(user, *, query="", org_id=None, sync_status=None):
    """The people `user` may see, filtered, by name; org and settings joined (one query
    per page)."""
    people = access.visible_people(user).select_related("org", "forwarding")
    condition = people_lists.people_search_condition(query)
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


def people_list_for(user, *, query="", org_id=None, sync_status=None, reach=None):
    """people_for as the API's paginator takes it. Filtered by `sync_status`, without a
    search, within one org the user administers (`org_id`, or the only org their people
    can be in): walked through the status's index (people_lists.StatusWalk); else the
    filter's few matches are found first (people_lists.narrowed_to_few: a search by its
    own index, a member's own lines, several orgs whose names would have to be merged).
    `reach`: the user's Reach when the caller has it."""
    people = people_for(user, query=query, org_id=org_id, sync_status=sync_status)
    if not sync_status:
        return people
    reach = reach or Reach(user)
    admin_orgs = reach.admin_org_ids()
    if org_id is None and len(admin_orgs) == 1:
        own_lines_elsewhere = Person.objects.filter(user=user).exclude(org_id__in=admin_orgs)
        org_id = None if own_lines_elsewhere.exists() else next(iter(admin_orgs))
    if (org_id in admin_orgs and people_lists.people_search_condition(query) is None
            and connections[people.db].vendor == "postgresql"):
        # Every person of the org is visible: the settings rows alone say who matches.
        settings = ForwardingSettings.objects.filter(
            person_org_id=org_id).filter(_settings_status(sync_status))
        return people_lists.StatusWalk(people, settings)
    return people_lists.narrowed_to_few(people)


def _settings_status(sync_status) -> Q:
    """people_for's status filter, on the settings row itself."""
    if sync_status == BEHIND:
        return Q(version__gt=F("synced_version")) & ~Q(sync_status=SyncStatus.FAILED)
    return Q(sync_status=sync_status)


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


# --- a job's state and its undo -------------------------------------------------------------

WINDOW_FIELDS = ("window_enabled", "window_start", "window_end", "window_destination")
UNDO_PREVIEW_ROWS = 100  # people listed on the undo confirmation page


def job_state(job, progress) -> dict:
    """The badge of a job: {"label", "css"}. A job that is done but some of whose rows
    failed (or whose delivery failed) says so and is not green."""
    if job.status == BulkJob.STOPPED:
        return {"label": "Stopped", "css": "failed"}
    if job.status != BulkJob.DONE:
        return {"label": job.get_status_display(), "css": "pending"}
    if progress["failed"] or progress["push_failed"]:
        return {"label": "Done with errors", "css": "done-with-errors"}
    if not progress["settled"]:
        return {"label": "Done, being delivered", "css": "pushing"}
    return {"label": "Done", "css": "synced"}


def undo_changes(source: BulkJobRow, now: datetime):
    """What undoing one applied row brings back: (changes, guard, note). `guard` holds what
    the job wrote; a field that no longer holds it was changed since and is left alone."""
    previous, written = source.previous or {}, source.written or {}
    fields = [name for name in written if name in previous]
    note = ""
    end = previous.get("window_end")
    if set(fields) & set(WINDOW_FIELDS) and previous.get("window_enabled") and (
            not end or datetime.fromisoformat(end) <= now):
        # As restore does: a time window that is over is not brought back.
        fields = [name for name in fields if name not in WINDOW_FIELDS]
        note = "The time window from before the job is over; it is not brought back."
    changes = {name: previous[name] for name in fields}
    guard = {name: written[name] for name in fields}
    return changes, guard, note


def _undo_item(source, current, caps, now) -> dict:
    changes, guard, note = undo_changes(source, now)
    name = source.person.display_name
    item = {"person": source.person, "label": name, "lines": [], "notes": [note] if note
            else []}
    moved = [field for field, value in guard.items() if current.get(field) != value]
    if moved:
        fields = ", ".join(previews.field_label(field) for field in moved)
        item["notes"].append(f"Changed since the job ({fields}); left as it is.")
        return item
    item["lines"] = previews.describe_diff(current, {**current, **changes}, caps=caps,
                                           name=name)
    if not item["lines"] and not item["notes"]:
        item["notes"].append("Nothing to bring back: already as before the job.")
    return item


def undo_preview(job, *, now=None, limit=UNDO_PREVIEW_ROWS) -> dict:
    """What undoing `job` would do now, person by person in the words of the person page:
    {"items": [{"person", "label", "lines": [{"label", "before", "after"}], "notes"}],
    "total": applied rows, "shown": how many are listed}. Two queries for the settings."""
    now = now or timezone.now()
    applied = job.rows.filter(status=BulkJobRow.APPLIED).select_related("person")
    total = applied.count()
    sources = list(applied.order_by("line", "id")[:limit])
    ids = [row.person_id for row in sources if row.person_id]
    stored = {s.person_id: s for s in ForwardingSettings.objects.filter(person_id__in=ids)
              .prefetch_related("caller_rules")}
    caps = selectors.caps_for_org(job.org)
    items = []
    for source in sources:
        if source.person is None:
            items.append({"person": None, "label": source.person_label, "lines": [],
                          "notes": ["This person no longer exists."]})
            continue
        settings = stored.get(source.person_id) or ForwardingSettings(person=source.person)
        items.append(_undo_item(source, services.snapshot(settings), caps, now))
    return {"items": items, "total": total, "shown": len(items)}
