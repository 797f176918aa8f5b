"""The person page's "week at a glance": forwarding.rules.week's grid drawn as an SVG
(one row per day, one column per hour, a letter in every run of hours so colour is not the
only signal), a legend with the same letters, and the same week as a list of ranges in
words ("Mon 17:00-24:00: forwarded to +1 202 555 0100").

Geometry only; what the call does each hour comes from routing via `week`. The week is
kept in the cache per version of the person's settings and per local day: 168 decisions
cost from ~30 ms (nothing set) to ~0.6 s (fifty rules of a hundred callers each; see
bench/week_at_a_glance.py), and a page is viewed far more often than it changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from forwarding.rules import routing, selectors, week
from portal.timezones import person_zone

log = logging.getLogger(__name__)
CACHE_SECONDS = 26 * 3600  # a key names its local day; longer than a day is never read

LABEL_W = 64  # the day names
CELL_W = 22
ROW_H = 28
HEAD_H = 22
PALETTE = 6  # css classes wk-0 .. wk-5, then they repeat (the letters never do)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Key:
    letter: str
    css: str
    text: str


def _words(outcome: week.Outcome, phone: str) -> str:
    return outcome.text.replace("Rings the phone", f"Rings {phone}")


def _cache_key(person, settings, zone, now) -> str:
    """Everything the week depends on: the settings (their version and the instant of
    their last write, so a database recreated with the same ids cannot hit an old entry),
    the person's lines and region, the provider's capabilities, the zone and the day."""
    caps = selectors.caps_for(person)
    stamp = settings.updated_at.timestamp() if settings is not None and settings.pk else 0
    version = settings.version if settings is not None and settings.pk else 0
    lines = "|".join(person.lines())
    return (f"week:v1:{person.pk}:{version}:{stamp}:{lines}:{person.org.default_region}:"
            f"{caps.kind}:{person.org.graph_api_version or ''}:{zone.key}:"
            f"{now.astimezone(zone).date().isoformat()}")


def _week(person, settings, zone, now) -> week.Week:
    key = _cache_key(person, settings, zone, now)
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - without the cache the page computes the week
        log.warning("week cache unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return cached
    result = week.week_at_a_glance(routing.rules_for(person), zone=zone, now=now)
    try:
        cache.set(key, result, CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("week cache unavailable", exc_info=True)
    return result


def build(person, *, is_self: bool, settings=None, now=None) -> dict:
    """Everything the template draws, for `person` from `now` (default: now).
    `settings`: the person's stored settings row, when the caller has it (the cache key)."""
    zone = person_zone(person)
    result = _week(person, settings, zone, now or timezone.now())
    phone = "your phone" if is_self else f"{person.display_name}'s phone"
    keys = {}
    for i, outcome in enumerate(result.outcomes):
        keys[outcome] = Key(letter=LETTERS[i % len(LETTERS)], css=f"wk-{i % PALETTE}",
                            text=_words(outcome, phone))
    runs = []
    for row, day in enumerate(result.days):
        y = HEAD_H + row * ROW_H
        for r in (r for r in result.ranges() if r.day is day):
            key = keys[r.outcome]
            x = LABEL_W + r.start * CELL_W
            width = (r.end - r.start) * CELL_W
            runs.append({
                "x": x, "y": y + 2, "width": width - 1, "height": ROW_H - 4,
                "css": key.css, "letter": key.letter, "text_x": x + width / 2,
                "text_y": y + ROW_H / 2 + 4,
                "title": f"{day.long_name} {r.start:02d}:00-{r.end:02d}:00: {key.text}",
            })
    days = []
    for row, day in enumerate(result.days):
        days.append({
            "label": day.short_name, "long": f"{day.long_name} {day.day.day} "
            f"{day.day.strftime('%B')}", "y": HEAD_H + row * ROW_H + ROW_H / 2 + 4,
            "ranges": [{"hours": f"{r.start:02d}:00-{r.end:02d}:00",
                        "letter": keys[r.outcome].letter, "text": keys[r.outcome].text}
                       for r in result.ranges() if r.day is day],
        })
    first, last = result.days[0], result.days[-1]
    return {
        "zone": result.zone,
        "width": LABEL_W + week.HOURS * CELL_W + 4,
        "height": HEAD_H + len(result.days) * ROW_H,
        "hours": [{"x": LABEL_W + h * CELL_W, "label": f"{h:02d}"} for h in range(0, 24, 3)],
        "head_y": HEAD_H - 7,
        "days": days,
        "runs": runs,
        "keys": list(keys.values()),
        "uniform": result.uniform,
        "span": f"{first.long_name} {first.day.day} {first.day.strftime('%B')} to "
        f"{last.long_name} {last.day.day} {last.day.strftime('%B')}",
        "summary": (f"All week: {next(iter(keys.values())).text}." if result.uniform else
                    f"{len(keys)} different outcomes over the week; the list below gives "
                    "each day's hours in words."),
    }
