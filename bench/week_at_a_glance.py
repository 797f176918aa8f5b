"""What the person page's "week at a glance" costs: `forwarding.rules.week` asks
`routing.decide` 168 times (every hour of seven days) per page view. Pure: no database
query is made (Django is set up only because routing imports the models).

    python bench/week_at_a_glance.py [--repeat 50]

Prints the median and the worst time of one week for three people: nothing set; a time
window and simultaneous ring; the most caller rules the portal takes (50), each listing
100 callers, the last one for every caller outside a business-hours schedule (where
routing reads schedules) so every sample walks them all.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")

import django  # noqa: E402

django.setup()

from forwarding.rules import week  # noqa: E402
from forwarding.rules.caller_rules import MAX_CALLER_RULES, MAX_CALLERS_PER_RULE  # noqa: E402
from forwarding.rules.routing import CallerRoute, RoutingRules  # noqa: E402
from providers.capabilities import capabilities_for  # noqa: E402

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def people():
    webex = capabilities_for("webex")
    graph = capabilities_for("graph", "beta")
    yield "nothing set", RoutingRules(caps=webex, own_line="+12025550142")
    yield "window and simultaneous ring", RoutingRules(
        caps=graph, own_line="+12025550142", simring_enabled=True,
        simring_targets=("+12025550177", "+12025550178"), window_enabled=True,
        window_destination="2001", window_start=NOW + timedelta(days=1),
        window_end=NOW + timedelta(days=2))
    rules = [CallerRoute(callers=tuple(f"+1303555{r:02d}{c:02d}" for c in
                                       range(MAX_CALLERS_PER_RULE)),
                         destination=f"20{r:02d}") for r in range(MAX_CALLER_RULES - 1)]
    extra = {}
    fields = CallerRoute.__dataclass_fields__
    if "schedule" in fields and "schedules" in RoutingRules.__dataclass_fields__:
        from providers.base import ScheduleState
        rules.append(CallerRoute(match_all=True, destination="+12025550100",
                                 schedule="Office hours", schedule_when="outside"))
        extra = {"schedules": (ScheduleState(name="Office hours", kind="business_hours",
                                             hours=tuple((d, "09:00", "17:00")
                                                         for d in WEEKDAYS)),),
                 "time_zone": ZONE.key}
    label = (f"{MAX_CALLER_RULES} caller rules x {MAX_CALLERS_PER_RULE} callers"
             + (", the last outside business hours" if extra else ""))
    yield label, RoutingRules(caps=webex, own_line="+12025550142",
                              caller_rules=tuple(rules), **extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(f"week at a glance: {week.DAYS * week.HOURS} decisions per week, "
          f"{args.repeat} runs each")
    for label, rules in people():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = week.week_at_a_glance(rules, zone=ZONE, now=NOW)
            times.append((time.perf_counter() - start) * 1000)
        print(f"  {label}: median {statistics.median(times):.1f} ms, worst "
              f"{max(times):.1f} ms ({len(result.outcomes)} outcome"
              f"{'s' if len(result.outcomes) != 1 else ''})")


if __name__ == "__main__":
    main()
