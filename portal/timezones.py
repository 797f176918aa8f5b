"""Time zones of orgs and people: the one check of a zone name and the one way to get the
zone a person's times are entered and read in.

Instants are stored in UTC; wall-clock things (schedules, "09:00 on weekdays") are stored
as wall-clock values and read in the person's zone, so they follow daylight saving."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


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
