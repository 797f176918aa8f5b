"""Time zones of orgs and people: the one check of a zone name and the one way to get the
zone a person's times are entered and read in.

Instants are stored in UTC; wall-clock things (schedules, "09:00 on weekdays") are stored
as wall-clock values and read in the person's zone, so they follow daylight saving."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import timezone


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted, for choices and checks."""
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_time_zone(name: str) -> None:
    if name and name not in zone_names():
        raise ValidationError(
            "%(name)s is not a time zone. Use a name such as Europe/Berlin or "
            "America/New_York.", code="invalid", params={"name": name},
        )


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The ZoneInfo for a stored name; UTC for blank."""
    return zoneinfo.ZoneInfo(name or "UTC")


def person_zone(person) -> zoneinfo.ZoneInfo:
    """The zone a person's times are entered and read in: theirs, else their org's."""
    return zone(person.zone_name)


# --- wall-clock times typed by people ------------------------------------------------------

_UTC = UTC


def _offset_at(instant: datetime, tz) -> timedelta:
    return instant.astimezone(tz).utcoffset()


def _transition(naive: datetime, tz) -> tuple[datetime, datetime]:
    """The clock change around a local time that does not exist or exists twice: the
    wall-clock time just before it and the one just after it (02:00 and 03:00 on a spring
    morning in Berlin)."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    lo, hi = sorted((first.astimezone(_UTC), second.astimezone(_UTC)))
    before = _offset_at(lo - timedelta(seconds=1), tz)
    # The first instant (to the second) with the new offset; gaps last hours at most.
    while hi - lo > timedelta(seconds=1):
        middle = lo + (hi - lo) / 2
        middle = middle.replace(microsecond=0)
        if _offset_at(middle, tz) == before:
            lo = middle
        else:
            hi = middle
    after = _offset_at(hi, tz)
    change = hi.replace(tzinfo=None)
    return change + before, change + after


def _clock(value: datetime) -> str:
    return f"{value:%H:%M}" if not value.second else f"{value:%H:%M:%S}"


def _day(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


@dataclass(frozen=True)
class LocalTime:
    """A wall-clock time read in a zone: the instant (in UTC), and a note when the time
    happened twice that day (clocks went back) and the first occurrence was taken."""

    instant: datetime
    note: str = ""


def from_local(naive: datetime, tz, *, label: str = "") -> LocalTime:
    """The instant a person means by wall-clock `naive` in zone `tz`.

    A time skipped when clocks go forward does not exist: ValidationError saying so. A
    time that happens twice when clocks go back is read as its FIRST occurrence (the one
    before the change, still on summer time), with a note saying so: the portal's one
    documented rule, since the form has no room to say which of the two was meant. To
    reach the second one, give the offset (CSV and API) or pick a time after the change.
    """
    if naive.tzinfo is not None:
        return LocalTime(naive)
    name = getattr(tz, "key", None) or str(tz)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return LocalTime(first.astimezone(_UTC))
    back_first = first.astimezone(_UTC).astimezone(tz).replace(tzinfo=None, fold=0)
    if back_first != naive.replace(fold=0):
        before, after = _transition(naive, tz)
        raise ValidationError(
            "%(clock)s on %(day)s does not exist in %(zone)s: clocks go forward from "
            "%(before)s to %(after)s. Choose a time before %(before)s or from %(after)s.",
            code="nonexistent_time",
            params={"clock": _clock(naive), "day": _day(naive), "zone": name,
                    "before": _clock(before), "after": _clock(after)},
        )
    before, after = _transition(naive, tz)
    note = (f"{_clock(naive)} on {_day(naive)} happens twice in {name}: clocks go back from "
            f"{_clock(before)} to {_clock(after)}. The first one was taken "
            f"({_clock(naive)} {first.tzname()}, {offset_words(first)}).")
    if label:
        note = f"{label}: {note}"
    # In UTC: Python never finds a zone's ambiguous time equal to any other-zone
    # datetime (PEP 495), which would surprise every comparison downstream.
    return LocalTime(first.astimezone(_UTC), note)


def offset_words(value: datetime) -> str:
    """"UTC+01:00", "UTC-04:00", "UTC" for an aware datetime."""
    offset = value.utcoffset()
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def shown(value: datetime, tz=None) -> str:
    """An instant as pages and messages show it, on one line with the zone's abbreviation:
    "Sun 29 Mar 2026 03:30 CEST". `tz`: the zone to read it in, else the active one (the
    viewer's, see portal.middleware.TimeZoneMiddleware)."""
    local = timezone.localtime(value, tz)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"
