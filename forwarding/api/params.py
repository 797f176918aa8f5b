"""Numbers and filters in API requests: the one place where the API turns ids and counts
from query strings and JSON bodies into Python ints, and the query-string filters of the
list endpoints.

Every whole number a client sends is checked against the range of the column it is
compared with before it reaches a query: PostgreSQL compares an out-of-range number
without complaint, but SQLite (the database of `make run`) raises OverflowError for any
int beyond 64 bits, which answered 500. Out of range answers 400 naming the parameter,
like any other bad value, and drf-spectacular documents the bounds (minimum/maximum).

Query strings are validated as plain dicts, not QueryDicts: DRF treats an empty value of
an optional field in form-style input as "not sent", so `?until=` was accepted although
the schema says date-time. Here an empty value is a value, checked like any other.
"""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils import html

from forwarding.api import errors
from forwarding.bulk.selectors import BEHIND
from forwarding.models import BulkJobRow, SyncStatus
from forwarding.rules import people_lists

NAIVE_INSTANT = ("Give the time with its offset, e.g. 2026-03-29T09:00:00+02:00 or "
                 "2026-03-29T07:00:00Z: without one it could be any of 24 hours.")


class InstantField(serializers.DateTimeField):
    """An ISO 8601 date and time WITH an offset. DRF would read one without an offset in
    the server's zone, a guess the client never sees; the API refuses it instead (400
    naming the field), so every instant it stores is the one the client meant. Answers
    are ISO 8601 in UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "ISO 8601 with an offset (Z or +02:00); a time "
                          "without one is refused.")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError(NAIVE_INSTANT, code="naive")
        return super().to_internal_value(value)


# PostgreSQL's bigint (the ids: DEFAULT_AUTO_FIELD is BigAutoField) and integer (versions
# and other PositiveIntegerField columns).
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

INVALID_QUERY = "Some query parameters are not valid."


def sent_as_json(field) -> bool:
    """Whether `field`'s value came in a JSON body, where values have types, rather than in
    a query string or a form, where every value is text. DRF reads "5", 0 and "on" alike
    in both; in JSON only what the schema says is accepted (an integer for an integer)."""
    root = field.root
    return not root.context.get("query") and not html.is_html_input(root.initial_data)


class WholeNumberField(serializers.IntegerField):
    """A whole number between `min_value` and `max_value` (both required), with one message
    for every way of missing it, which says the range."""

    def to_internal_value(self, data):
        if sent_as_json(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        return super().to_internal_value(data)

    def __init__(self, *, min_value, max_value, noun="a whole number", **kwargs):
        message = f"Enter {noun} from {min_value} to {max_value}."
        messages = {key: message for key in ("invalid", "min_value", "max_value",
                                             "max_string_length")}
        messages.update(kwargs.pop("error_messages", {}))
        super().__init__(min_value=min_value, max_value=max_value, error_messages=messages,
                         **kwargs)


def IdField(**kwargs):  # noqa: N802 - used like a field class
    """The id of a stored object (a bigint primary key)."""
    return WholeNumberField(min_value=1, max_value=BIGINT_MAX, noun="an id", **kwargs)


def VersionField(**kwargs):  # noqa: N802 - used like a field class
    """A settings version (an integer column)."""
    return WholeNumberField(min_value=0, max_value=INT_MAX, noun="a version", **kwargs)


def parse_query(request, serializer_class) -> dict:
    """The query parameters checked by `serializer_class`; 400 naming the bad ones.
    A parameter sent twice counts with its last value (what QueryDict.get answers)."""
    params = serializer_class(data=request.query_params.dict(), context={"query": True})
    if not params.is_valid():
        raise errors.invalid(params.errors, INVALID_QUERY)
    return params.validated_data


# --- pagination -------------------------------------------------------------------------------

MAX_PAGE_SIZE = 500


class PageParams(serializers.Serializer):
    page = WholeNumberField(min_value=1, max_value=BIGINT_MAX, noun="a page number",
                            required=False,
                            help_text="A page number; past the last page answers 404.")
    page_size = WholeNumberField(min_value=1, max_value=BIGINT_MAX, noun="a page size",
                                 required=False,
                                 help_text=f"Results per page (default 50); more than "
                                 f"{MAX_PAGE_SIZE} gives {MAX_PAGE_SIZE}.")


class Pagination(PageNumberPagination):
    """DRF's page numbers, but a bad `page` or `page_size` answers 400 (DRF would fall back
    to the default size, or answer 404 for `page=abc`), and `page=last` is not a number."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def _params(self, request):
        return parse_query(request, PageParams)

    def get_page_size(self, request):
        return min(self._params(request).get("page_size", self.page_size), self.max_page_size)

    def get_page_number(self, request, paginator):
        return self._params(request).get("page", 1)

    def get_schema_operation_parameters(self, view):
        fields = PageParams().fields
        return [
            {"name": name, "required": False, "in": "query",
             "description": str(fields[name].help_text),
             "schema": {"type": "integer", "format": "int64", "minimum": 1,
                        "maximum": BIGINT_MAX}}
            for name in ("page", "page_size")
        ]


class EstimatingPagination(Pagination):
    """Pagination for lists that grow with an org (people): `count` is exact up to
    people_lists.EXACT_COUNT_LIMIT and PostgreSQL's estimate beyond it, and the answer says
    which (`count_is_exact`), so that 200,000 people are not all read to say how many."""

    estimate = True  # False for a searched or filtered list: then "more than" (see below)

    def django_paginator_class(self, queryset, page_size):
        return people_lists.EstimatingPaginator(queryset, page_size, estimate=self.estimate)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_is_exact"] = self.page.paginator.count_is_exact
        return response

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count"]["description"] = (
            f"Exact up to {people_lists.EXACT_COUNT_LIMIT:,}; beyond it an estimate (two "
            f"significant digits). With `q` or a filter: exact up to "
            f"{people_lists.FILTERED_COUNT_LIMIT:,}, beyond it "
            f"{people_lists.FILTERED_COUNT_LIMIT + 1:,}, meaning more. See count_is_exact.")
        answer["properties"]["count_is_exact"] = {"type": "boolean", "example": True}
        answer["required"] = [*answer.get("required", []), "count_is_exact"]
        return answer


# --- filters of the list endpoints ------------------------------------------------------------


class PeopleFilters(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100,
                              help_text="Name, email or number contains.")
    org = IdField(required=False, help_text="Organization id.")
    sync_status = serializers.ChoiceField(
        required=False, choices=[*SyncStatus.values, BEHIND],
        help_text="Push state; `behind` = a change still on its way (not failed).")


class EventFilters(serializers.Serializer):
    person = IdField(required=False)
    actor = IdField(required=False, help_text="User id of the actor.")
    org = IdField(required=False)
    event = serializers.CharField(required=False, max_length=64,
                                  help_text="Event code, e.g. forwarding.updated.")
    correlation_id = serializers.CharField(required=False, max_length=64)
    since = InstantField(required=False, help_text="From (inclusive); ISO 8601 with an "
                         "offset.")
    until = InstantField(required=False, help_text="Until (exclusive); after `since` when "
                         "both are given; ISO 8601 with an offset.")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": "Choose a time after `since`."})
        return attrs


class DelegationFilters(serializers.Serializer):
    active = serializers.BooleanField(required=False)
    role = serializers.ChoiceField(
        required=False, choices=["customer", "partner"],
        help_text="customer: delegations your orgs granted; partner: delegations your "
        "orgs received.")


class JobFilters(serializers.Serializer):
    org = IdField(required=False)


class RowFilters(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=[c for c, _ in BulkJobRow.STATUSES])
