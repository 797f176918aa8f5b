"""The CSV format of bulk changes: cells to values and back, the export, and the reader
of an uploaded file.

The reader streams: it never holds more than one row's cells and one batch of entries
(BATCH rows, whose people are looked up with two queries), whatever the size of the file
or of the org. A file is read twice over the same bytes: `CsvFile.check` reads the
header and counts the rows (refusing more than BULK_MAX_ROWS, or an overlong row, before
any real work), `CsvFile.entries` then yields the entries batch by batch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.functions import Lower
from django.utils import timezone

from forwarding.rules.validation import (
    BOOL_FIELDS,
    DATETIME_FIELDS,
    DEFAULTS,
    EDITABLE_FIELDS,
    INT_FIELDS,
    LIST_FIELDS,
    STRUCTURED_FIELDS,
)
from portal.models import Person

# One row per person. The person is named by provider_person_id, else by email; version
# (optional) is the version the row was read from; display_name is for people and ignored
# on import. Then one column per setting (validation.EDITABLE_FIELDS) except the
# structured ones (schedules: edited on the person's page or through the API; caller
# rules likewise). See docs/bulk-and-api.md.
KEY_COLUMNS = ("email", "provider_person_id")
INFO_COLUMNS = ("display_name",)
SETTING_COLUMNS = tuple(f for f in EDITABLE_FIELDS if f not in STRUCTURED_FIELDS)
COLUMNS = (*KEY_COLUMNS, *INFO_COLUMNS, "version", *SETTING_COLUMNS)
LIST_SEPARATOR = "|"
_TRUE = {"yes", "y", "true", "1", "on"}
_FALSE = {"no", "n", "false", "0", "off"}
# Spreadsheet apps run a cell that starts with these as a formula; free text (names,
# emails) is exported with a leading apostrophe, which import removes again.
_FORMULA_START = ("=", "+", "-", "@")
# A real row of this format is a few hundred characters. The limit is what keeps one
# row's cells small: csv parses a whole row before handing it over, so a 20 MB line of
# commas would otherwise become millions of cells in memory at once.
MAX_ROW_CHARS = 10_000
# Rows whose people are looked up together (two queries per batch).
BATCH = 1000


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
    forwarding.rules.validation, as for the forms."""
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


# --- reading a file --------------------------------------------------------------------------


@dataclass
class Entry:
    """One requested change before it is checked: a CSV row or a person of a bulk edit."""

    line: int
    key: str = ""
    person: Person | None = None
    changes: dict = field(default_factory=dict)
    expected_version: int | None = None
    errors: dict = field(default_factory=dict)
    by: str = ""  # the column that names the person (CSV rows), until it is looked up


def _add(errors, key, message):
    errors.setdefault(key, []).append(message)


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why."""


class _RowTooLong(Exception):
    pass


class _Lines:
    """The physical lines of a text stream for csv.reader, each read with a bounded
    readline; raises _RowTooLong once the row being parsed passes MAX_ROW_CHARS (a quoted
    cell may span lines, so the count is per row: `row_done` resets it)."""

    def __init__(self, stream):
        self.stream, self.used = stream, 0

    def __iter__(self):
        return self

    def __next__(self):
        line = self.stream.readline(MAX_ROW_CHARS + 1)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > MAX_ROW_CHARS:
            raise _RowTooLong
        return line

    def row_done(self):
        self.used = 0


def _strip_apostrophe(text):
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA_START else text


class CsvFile:
    """An uploaded CSV file (bytes, or text in tests and tools), read as a stream."""

    def __init__(self, data, *, max_rows: int):
        self.data, self.max_rows = data, max_rows
        self.names: list[str] = []
        self.rows = 0  # data rows (blank lines not counted), known after check()

    def _stream(self):
        if isinstance(self.data, str):
            return io.StringIO(self.data, newline="")
        return io.TextIOWrapper(io.BytesIO(self.data), encoding="utf-8-sig", newline="")

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) of every row, header first; FileProblem for a file that
        is not UTF-8, not CSV, or has an overlong row."""
        lines = _Lines(self._stream())
        reader = csv.reader(lines)
        try:
            for cells in reader:
                lines.row_done()
                yield reader.line_num, cells
        except UnicodeDecodeError:
            raise FileProblem("The file is not UTF-8 text. Save it as CSV UTF-8 and try "
                              "again.") from None
        except _RowTooLong:
            raise FileProblem(f"Line {reader.line_num + 1} is longer than "
                              f"{MAX_ROW_CHARS:,} characters; a row of this format is far "
                              "shorter. Check that this is the exported CSV file.") from None
        except csv.Error as exc:
            if reader.line_num <= 1:
                raise FileProblem(f"This is not a CSV file we can read: {exc}.") from None
            raise FileProblem(f"Line {reader.line_num}: {exc}.") from None

    def check(self) -> list[str]:
        """The problems of the file as a whole (the header, the encoding, the size in
        rows); counts the rows. Holds one row at a time."""
        try:
            records = self._records()
            first = next(records, None)
            if first is None:
                return ["The file is empty."]
            problems = self._header(first[1])
            if problems:
                return problems
            for _line, cells in records:
                if any(cell.strip() for cell in cells):
                    self.rows += 1
                    if self.rows > self.max_rows:
                        return [f"This file has more than {self.max_rows:,} rows, the most "
                                "one import takes. Split it into smaller files."]
        except FileProblem as exc:
            return [str(exc)]
        if not self.rows:
            return ["The file has a header but no rows."]
        return []

    def _header(self, header) -> list[str]:
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
            problems.append("Add an email or a provider_person_id column to say who each "
                            "row is for.")
        self.names = names
        return problems

    def entries(self, org) -> Iterator[Entry]:
        """The entries of the rows (after `check` found no problem), their people looked
        up a batch at a time."""
        records = self._records()
        next(records)  # the header, checked already
        batch = []
        for line, cells in records:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines
            batch.append(_entry(line, self.names, cells))
            if len(batch) >= BATCH:
                yield from _resolve(org, batch)
                batch = []
        if batch:
            yield from _resolve(org, batch)


def _entry(line, names, cells) -> Entry:
    entry = Entry(line=line)
    if len(cells) > len(names):
        _add(entry.errors, "non_field_errors",
             f"This row has {len(cells)} cells but the header has {len(names)} columns.")
    row = dict(zip(names, cells, strict=False))
    provider_id = _strip_apostrophe(row.get("provider_person_id", "").strip())
    email = _strip_apostrophe(row.get("email", "").strip())
    if provider_id:
        entry.key, entry.by = provider_id, "provider_person_id"
    elif email:
        entry.key, entry.by = email, "email"
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


def _resolve(org, batch: list[Entry]) -> list[Entry]:
    """Find the person each entry names, for one batch: two queries. The people share
    the one `org` object (a join would make one per person)."""
    provider_ids = {e.key for e in batch if e.by == "provider_person_id"}
    emails = {e.key.lower() for e in batch if e.by == "email"}
    by_provider_id, by_email = {}, {}
    if provider_ids:
        for person in Person.objects.filter(org=org, provider_person_id__in=provider_ids):
            person.org = org
            by_provider_id[person.provider_person_id] = person
    if emails:
        people = (Person.objects.annotate(email_key=Lower("email"))
                  .filter(org=org, email_key__in=emails).order_by("id"))
        for person in people:
            person.org = org
            by_email.setdefault(person.email.strip().lower(), []).append(person)
    for entry in batch:
        if entry.by == "provider_person_id":
            entry.person = by_provider_id.get(entry.key)
            if entry.person is None:
                _add(entry.errors, "provider_person_id",
                     "Nobody in this organization has this provider person id.")
        elif entry.by == "email":
            matches = by_email.get(entry.key.lower(), [])
            if len(matches) == 1:
                entry.person = matches[0]
            elif matches:
                _add(entry.errors, "email", f"{len(matches)} people have this email; use "
                     "their provider_person_id instead.")
            else:
                _add(entry.errors, "email", "Nobody in this organization has this email.")
    return batch
