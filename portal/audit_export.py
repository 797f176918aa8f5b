"""The audit log of one organization for a SIEM: every row in a date range, oldest first,
as CSV or JSON Lines, streamed.

Rows come from a server-side cursor (`.iterator(chunk_size)` on PostgreSQL) and each one is
encoded and handed to the response as soon as it is read, so memory stays flat whatever
the range holds (bench/audit_export.py measures it on a million rows)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder

from portal.audit import event_label
from portal.models import AuditEvent

FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"),
           "jsonl": ("application/jsonl; charset=utf-8", "jsonl")}
CHUNK_ROWS = 2000
FIELDS = ("id", "created_at", "event", "org_id", "person_id", "person_label", "actor_id",
          "actor_label", "via_partner_id", "ip", "old", "new", "data", "correlation_id")
COLUMNS = ("id", "created_at", "event", "label", "org_id", "person_id", "person_label",
           "actor_id", "actor_label", "via_partner_id", "ip", "old", "new", "data",
           "correlation_id")
# Spreadsheet apps run a cell that starts with one of these as a formula: free-text cells
# of the CSV get a leading apostrophe (as the bulk export does). JSON Lines is untouched.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT = {"person_label", "actor_label"}


def rows(org, *, since=None, until=None) -> Iterator[dict]:
    """The org's audit rows in [since, until), oldest first, one dict at a time."""
    events = AuditEvent.objects.filter(org=org)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    for values in events.order_by("created_at", "id").values_list(*FIELDS).iterator(
            chunk_size=CHUNK_ROWS):
        row = dict(zip(FIELDS, values, strict=True))
        row["created_at"] = row["created_at"].astimezone(UTC).isoformat().replace(
            "+00:00", "Z")
        row["label"] = event_label(row["event"])
        yield row


def jsonl_lines(org, *, since=None, until=None) -> Iterator[str]:
    encoder = DjangoJSONEncoder(separators=(",", ":"), ensure_ascii=False)
    for row in rows(org, since=since, until=until):
        yield encoder.encode({name: row[name] for name in COLUMNS}) + "\n"


class _Echo:
    def write(self, value):
        return value


def _cell(name, value):
    if value is None:
        return ""
    if name in ("old", "new", "data"):
        return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"),
                          ensure_ascii=False)
    if name in _TEXT and str(value).startswith(_FORMULA_START):
        return f"'{value}"
    return value


def csv_lines(org, *, since=None, until=None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows(org, since=since, until=until):
        yield writer.writerow([_cell(name, row[name]) for name in COLUMNS])


def lines(fmt: str, org, *, since=None, until=None) -> Iterator[str]:
    if fmt == "csv":
        return csv_lines(org, since=since, until=until)
    if fmt == "jsonl":
        return jsonl_lines(org, since=since, until=until)
    raise ValueError(f"unknown export format {fmt!r}")


def filename(org, fmt: str, *, since=None, until=None) -> str:
    span = "-".join(d.strftime("%Y%m%d") for d in (since, until) if d is not None)
    return f"audit-org{org.pk}{'-' + span if span else ''}.{FORMATS[fmt][1]}"
