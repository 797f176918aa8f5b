"""The people list at any org size: its search, counts that stop before they cost a scan
(exact up to EXACT_COUNT_LIMIT, PostgreSQL's estimate beyond; searched or filtered lists
exact up to FILTERED_COUNT_LIMIT), a paginator that never asks for more than a page, and
the list filtered by sync status (StatusWalk within one org, narrowed_to_few otherwise).
Shared by the people page, the bulk selections and the people API."""

from __future__ import annotations

import json
import re

from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

from portal.models import Person


def people_search_condition(query: str) -> Q | None:
    """The people search (name, email, number, SIP URI) as a condition on Person, or None
    for an empty query. Shared by the people page and the people API."""
    query = (query or "").strip()
    if not query:
        return None
    condition = Q(display_name__icontains=query) | Q(email__icontains=query)
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 3:
        condition |= Q(phone_number__contains=digits) | Q(extension__contains=digits)
    if query.lower().startswith("sip:") or "@" in query:
        condition |= Q(sip_uri__icontains=query)
    return condition


# Counting every row of a list reads every row. An org's whole list counts exactly up to
# EXACT_COUNT_LIMIT and beyond shows the planner's estimate ("About 200,000 people": its
# statistics of org_id are good); a search or a filter counts exactly up to
# FILTERED_COUNT_LIMIT and beyond says "more than" (estimates of LIKE '%...%' and of a
# version comparison are guesses).
EXACT_COUNT_LIMIT = 10_000
FILTERED_COUNT_LIMIT = 1_000


def _about(number: int) -> int:
    """`number` to two significant digits (203,412 -> 200,000): an estimate says no more."""
    digits = len(str(max(int(number), 1)))
    unit = 10 ** max(digits - 2, 0)
    return int(round(number / unit) * unit)


def bounded_count(queryset, *, estimate: bool = True) -> tuple[int, bool]:
    """(how many rows `queryset` has, whether that is exact). Exact up to a limit (a count
    that stops there: at most that many rows read, whatever the org's size). Beyond it,
    with `estimate`, PostgreSQL's planner estimate rounded to two digits, never below
    what was counted; without, the limit plus one ("more than the limit"). Other
    databases (the SQLite demo) count exactly."""
    queryset = queryset.order_by()
    if connections[queryset.db].vendor != "postgresql":
        return queryset.count(), True
    limit = EXACT_COUNT_LIMIT if estimate else FILTERED_COUNT_LIMIT
    counted = queryset.values("pk")[:limit + 1].count()
    if counted <= limit:
        return counted, True
    if not estimate:
        return counted, False
    plan = json.loads(queryset.values("pk").explain(format="json"))
    return max(_about(plan[0]["Plan"]["Plan Rows"]), counted), False


def rows_by_ids(queryset, ids: list) -> list:
    """The rows of `queryset` whose primary keys are `ids`, in that order, in one query
    with the queryset's joins (an id no longer there is left out)."""
    if not ids:
        return []
    found = queryset.filter(pk__in=ids).in_bulk()
    return [found[pk] for pk in ids if pk in found]


# From this offset on, a page is read in two steps: the page's ids first, walking the
# list's order in the index alone (person_org_name_id_idx holds org, name and id: an
# index-only scan), then those rows with their joins. In one step PostgreSQL fetches
# and joins every skipped row too: at offset 1,950 that is 2,000 people and their
# settings, scattered over the table at 200,000 people (12 ms) where at 10,000 they
# sit close together (5 ms). Above it, one query is cheaper than two.
DEFERRED_JOIN_FROM = 500


def slice_rows(queryset, start: int, stop: int | None, *, ids_first: bool = False) -> list:
    """queryset[start:stop] as a list, by ids first when `start` is deep (see
    DEFERRED_JOIN_FROM) or when `ids_first` (a searched list: every match is found and
    sorted before the LIMIT, and in one statement PostgreSQL joined each match's settings
    before sorting them: 4,000 matches at 200,000 people, which it estimated at 38, for
    12 ms of SQL against 4 ms for the page's ids and then its 50 rows). The queryset's
    order must end with its primary key (the lists here order by name, then id), so that
    both steps agree on the order: with ties, the ids and the rows could come in
    different orders and a page could repeat or skip a person; ValueError otherwise."""
    if not _ends_with_primary_key(queryset):
        raise ValueError("slice_rows needs a queryset ordered last by its primary key, "
                         f"not by {list(queryset.query.order_by) or 'nothing'}")
    if stop is None or (start < DEFERRED_JOIN_FROM and not ids_first):
        return list(queryset[start:stop])
    return rows_by_ids(queryset, list(queryset.values_list("pk", flat=True)[start:stop]))


def _ends_with_primary_key(queryset) -> bool:
    order = queryset.query.order_by or (queryset.model._meta.ordering
                                        if queryset.query.default_ordering else ())
    if not order or not isinstance(order[-1], str):
        return False
    pk = queryset.model._meta.pk
    return order[-1].lstrip("-") in ("pk", pk.name, pk.attname)


# Up to this many matches of a filter are named by id (narrowed_to_few); a longer id list
# costs more than the walk it saves.
FEW = 2_000
assert FEW > FILTERED_COUNT_LIMIT  # ManyMatches' count relies on it


class KnownMatches:
    """Every match of a filter, named by id in the list's order (display name, id): its
    count is exact without a COUNT, and a page is fetched by its ids, with the joins of
    the queryset it came from. Stands in for that queryset in EstimatingPaginator."""

    ordered = True  # (Django's Paginator warns about unordered lists)

    def __init__(self, queryset, ids: list):
        self.queryset = queryset
        self.ids = ids

    def count(self) -> int:
        return len(self.ids)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        return rows_by_ids(self.queryset, self.ids[index])


class ManyMatches:
    """A filter's matches when there are more than FEW of them: pages come from the
    queryset (walked in name order, which finds a page at once when so many match) and
    the count is FILTERED_COUNT_LIMIT + 1, "more than", without counting again."""

    ordered = True

    def __init__(self, queryset):
        self.queryset = queryset

    def count(self) -> int:
        return FILTERED_COUNT_LIMIT + 1

    def __getitem__(self, index):
        return slice_rows(self.queryset, index.start or 0, index.stop)


def narrowed_to_few(queryset, limit: int = FEW):
    """`queryset` as KnownMatches when at most `limit` people match it, else unchanged.

    A filter that few people pass (a failed push: 1 person in 200) otherwise makes
    PostgreSQL walk the whole org in name order until a page of them turns up, then count
    them with a second walk. Here one statement finds the matches without an order (so
    through the filter's index: migration 0019's indexes on the settings' status),
    stops after `limit` + 1, and sorts those few by name in the database (its collation,
    not Python's): a page is then those ids, and the count is exact for free. When more
    match, the walk finds a page at once and the count stops at FILTERED_COUNT_LIMIT.
    Within one org without a search, StatusWalk is cheaper: it reads a page, not up to
    `limit` + 1 matches."""
    using = queryset.db
    matches = queryset.order_by().values_list("pk", "display_name")[:limit + 1]
    sql, params = matches.query.sql_with_params()
    # The inner query's own LIMIT bounds the work; MATERIALIZED keeps PostgreSQL from
    # pushing the outer ORDER BY into it (which would bring the walk back).
    materialized = "MATERIALIZED " if connections[using].vendor == "postgresql" else ""
    with connections[using].cursor() as cursor:
        cursor.execute(f"WITH m (id, display_name) AS {materialized}({sql}) "  # noqa: S608
                       "SELECT m.id FROM m ORDER BY m.display_name, m.id", params)
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) > limit:
        # More than `limit` (> FILTERED_COUNT_LIMIT): that is the count a filtered list
        # shows ("more than 1,000"), so the paginator need not count them again.
        return ManyMatches(queryset)
    return KnownMatches(queryset, ids)


class StatusWalk:
    """The people of one org whose settings have a status, in name order, without a
    search, for someone who sees the whole org: read from the settings rows alone, by
    their copies of the person's org and name (fwd_status_name_idx, fwd_behind_name_idx:
    migration 0019). A page reads its 50 index entries (after the earlier pages'), then
    those people by id; the count reads at most FILTERED_COUNT_LIMIT + 1 entries ("more
    than" beyond), however many match. Without the copies the order is the person's, and
    PostgreSQL walks the org by name until a page of matches turns up, or reads every
    match to sort them (narrowed_to_few).

    Rows, order and count are the name walk's: the copies equal the person's org and
    display name (triggers, whatever writes the tables), the index orders them by the
    same collation, and `settings` holds the same condition as `queryset`. Stands in for
    a queryset in EstimatingPaginator."""

    ordered = True

    def __init__(self, queryset, settings):
        self.queryset = queryset  # the people, with the joins a page shows
        self.settings = settings  # their settings rows: the org's, with the status

    def count(self) -> int:
        """How many match, up to FILTERED_COUNT_LIMIT + 1. Of person_id, which the
        indexes hold, so that they answer alone (an index-only scan), whatever the
        planner's guess of how many rows are behind (version > synced_version is a third
        of the table to it: with `pk`, it reads the table instead, 11 ms at 200,000)."""
        return self.settings.order_by().values("person_id")[:FILTERED_COUNT_LIMIT + 1].count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        return rows_by_ids(self.queryset, list(
            self.settings.order_by("person_name", "person_id")
            .values_list("person_id", flat=True)[index]))


class _EstimatedPage(Page):
    def has_next(self):
        # Past an estimate the rows decide: a full page may have more after it.
        return super().has_next() or (not self.paginator.count_is_exact
                                      and len(self.object_list) >= self.paginator.per_page)


class EstimatingPaginator(Paginator):
    """Django's Paginator with bounded_count: `count_is_exact` says whether `count` is an
    estimate. When it is, pages say "about", and a page holds whatever rows are there
    (an estimate may be a little short or long: a page is never cut at it, a page past
    it may be empty, and a full page always has a next one). `orphans` is not
    supported."""

    def __init__(self, object_list, per_page, *, estimate: bool = True, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.estimate = estimate

    @cached_property
    def _bounded(self):
        if isinstance(self.object_list, (KnownMatches, StatusWalk)):
            # A filtered list says "more than" past FILTERED_COUNT_LIMIT, however it knows.
            counted = self.object_list.count()
            if counted > FILTERED_COUNT_LIMIT:
                return FILTERED_COUNT_LIMIT + 1, False
            return counted, True
        if isinstance(self.object_list, ManyMatches):
            return self.object_list.count(), False
        return bounded_count(self.object_list, estimate=self.estimate)

    @property
    def count_is_estimate(self) -> bool:
        """The count is the planner's estimate (else, when not exact, a lower bound)."""
        return not self.count_is_exact and self.estimate

    @cached_property
    def count(self):
        return self._bounded[0]

    @property
    def count_is_exact(self) -> bool:
        return self._bounded[1]

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.count_is_exact or int(number) < 1:
                raise
            return int(number)

    def page(self, number):
        # Always LIMIT per_page, never "the rows left" as Django's Paginator does: asked
        # for LIMIT 1 of a search that matches one person, PostgreSQL walks the whole org
        # in name order hoping to meet them early (384 ms at 200,000 people, against 3 ms
        # through the trigram index for LIMIT 50).
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        rows = self.object_list
        # A list counted without an estimate is a searched or filtered one (both callers
        # say so): its matches are sorted before the LIMIT, so ids first.
        page = (slice_rows(rows, bottom, top, ids_first=not self.estimate)
                if isinstance(rows, QuerySet) else rows[bottom:top])
        return self._get_page(page, number, self)

    def _get_page(self, *args, **kwargs):
        return _EstimatedPage(*args, **kwargs)


def people_list(org, *, query: str = ""):
    """The org's people matching `query` (name, email or number), by name, with org and
    forwarding joined so a page of them costs one query."""
    people = Person.objects.filter(org=org).select_related("org", "forwarding")
    condition = people_search_condition(query)
    if condition is not None:
        people = people.filter(condition)
    return people.order_by("display_name", "id")
