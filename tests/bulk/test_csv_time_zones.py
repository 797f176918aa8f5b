"""CSV window times in people's zones: a cell without an offset is the person's wall
clock (a time that does not exist is refused in its cell, one that happens twice is the
first), a cell with one is that instant, and export writes each person's offset."""

import csv
import io
from datetime import UTC, datetime

import pytest

from forwarding.bulk.csvfile import COLUMNS, export_rows
from forwarding.bulk.plan import plan_csv
from tests.cast import make_person, update

pytestmark = pytest.mark.django_db

COLUMNS_USED = ("email", "window_enabled", "window_start", "window_end",
                "window_destination")


@pytest.fixture
def people(org):
    org.time_zone = "America/New_York"
    org.save(update_fields=["time_zone"])
    ny = make_person(org, name="Nia York", email="nia@acme.example")
    berlin = make_person(org, name="Bert Lin", email="bert@acme.example",
                         time_zone="Europe/Berlin")
    return ny, berlin


def _csv(*rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS_USED)
    for email, start, end in rows:
        writer.writerow([email, "yes", start, end, "2001"])
    return out.getvalue()


def _new(row, name):
    value = next(d["new"] for d in row.diff if d["field"] == name)
    return datetime.fromisoformat(value)


def test_a_cell_without_an_offset_is_the_persons_wall_clock(org, people):
    plan = plan_csv(org, _csv(
        ("nia@acme.example", "2027-01-15T09:00", "2027-07-01T17:00"),
        ("bert@acme.example", "2027-01-15T09:00", "2027-07-01T17:00"),
    ))
    ny, berlin = plan.rows
    assert ny.valid and berlin.valid, (ny.errors, berlin.errors)
    assert _new(ny, "window_start") == datetime(2027, 1, 15, 14, 0, tzinfo=UTC)   # EST
    assert _new(ny, "window_end") == datetime(2027, 7, 1, 21, 0, tzinfo=UTC)      # EDT
    assert _new(berlin, "window_start") == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)  # CET
    assert _new(berlin, "window_end") == datetime(2027, 7, 1, 15, 0, tzinfo=UTC)  # CEST


def test_a_cell_with_an_offset_is_that_instant(org, people):
    (row,) = plan_csv(org, _csv(
        ("bert@acme.example", "2027-01-15T09:00:00-05:00", "2027-01-15T20:00:00Z"))).rows
    assert row.valid, row.errors
    assert _new(row, "window_start") == datetime(2027, 1, 15, 14, 0, tzinfo=UTC)
    assert _new(row, "window_end") == datetime(2027, 1, 15, 20, 0, tzinfo=UTC)


def test_a_time_that_does_not_exist_is_refused_in_its_cell(org, people):
    gap, fold = plan_csv(org, _csv(
        ("bert@acme.example", "2027-03-28T02:30", "2027-04-01T09:00"),
        ("nia@acme.example", "2027-11-07T01:30", "2027-11-08T09:00"),
    )).rows
    assert not gap.valid
    assert gap.errors["window_start"] == [
        "02:30 on 28 March 2027 does not exist in Europe/Berlin: clocks go forward from "
        "02:00 to 03:00. Choose a time before 02:00 or from 03:00."]
    # Clocks go back in New York that night: the first 01:30 (EDT) is taken.
    assert fold.valid, fold.errors
    assert _new(fold, "window_start") == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_export_writes_each_persons_offset_and_round_trips(org, people):
    ny, berlin = people
    for person in people:
        update(person, window_enabled=True, window_destination="2001",
               window_start=datetime(2027, 1, 15, 8, 0, tzinfo=UTC),
               window_end=datetime(2027, 7, 1, 15, 0, tzinfo=UTC))
    rows = list(export_rows(org))
    header = rows[0]
    assert tuple(header) == COLUMNS
    cells = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert cells["bert@acme.example"]["window_start"] == "2027-01-15T09:00:00+01:00"
    assert cells["bert@acme.example"]["window_end"] == "2027-07-01T17:00:00+02:00"
    assert cells["nia@acme.example"]["window_start"] == "2027-01-15T03:00:00-05:00"
    assert cells["nia@acme.example"]["window_end"] == "2027-07-01T11:00:00-04:00"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    plan = plan_csv(org, out.getvalue())
    assert all(row.valid and not row.diff for row in plan.rows), [
        (row.errors, row.diff) for row in plan.rows]


def test_dry_run_and_job_pages_show_window_values_on_the_viewers_clock():
    from django.utils import timezone

    from forwarding.bulk.csvfile import change_text
    from portal.timezones import zone

    with timezone.override(zone("Europe/Berlin")):
        assert change_text("window_start", "2027-01-15T08:00:00+00:00") == \
            "2027-01-15T09:00:00+01:00"
        assert change_text("window_end", datetime(2027, 7, 1, 15, 0, tzinfo=UTC)) == \
            "2027-07-01T17:00:00+02:00"
        assert change_text("window_start", None) == "—"
