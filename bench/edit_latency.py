"""Time one forwarding edit (`forwarding.rules.services.forwarding_update`) in a small and a large
org, side by side, to show whether its cost grows with the org.

    python bench/edit_latency.py [--people 10000] [--small 100] [--edits 300] [--seed 1]

Needs PostgreSQL and Redis (as `make test` starts them). Drops and creates its own database
(portal_bench_edit) and uses Redis database 8 (the push each edit enqueues after commit
lands there; nothing consumes it, the database is flushed before and after).

Each org gets N people (phone number, extension and SIP URI each) with a settings row
that counts as delivered (version 1 = synced_version 1). Then M edits on random people:
even ones forward to an external number, odd ones to another person of the same org (by
number, extension or SIP URI at random), so chains through the org build up as the run
goes on; an edit that would close a loop is refused and still timed. Prints p50/p95/p99
milliseconds and queries per edit for both orgs and the large/small ratio (ideal ~1.0).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = "portal_bench_edit"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/8"
WARMUP = 10  # edits per org before timing: imports, connection, plan caches


def create_database():
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True,
                   env=os.environ)


def make_org(size, index):
    from forwarding.models import ForwardingSettings, SyncStatus
    from portal.models import Organization, Person

    org = Organization.objects.create(
        name=f"Bench {index} ({size} people)", provider_kind="webex",
        provider_org_id=f"bench-org-{index}", base_url="http://127.0.0.1:9",
        credentials={"token": "bench"}, default_region="US",
    )
    # bulk_create skips Person.save(), so the lines are written in their stored form here:
    # E.164, digits, lower-case SIP URI.
    people = Person.objects.bulk_create(
        Person(org=org, display_name=f"Person {n:05d}",
               phone_number=f"+1202{300 + n // 10000}{n % 10000:04d}",
               extension=f"{10000 + n}", sip_uri=f"sip:user{n}@org{index}.example",
               provider_person_id=f"bench-{index}-{n}")
        for n in range(size)
    )
    ForwardingSettings.objects.bulk_create(
        (ForwardingSettings(person=p, version=1, synced_version=1,
                            sync_status=SyncStatus.PENDING) for p in people),
        batch_size=2000,
    )
    return org, people


def run_edits(people, edits, rng):
    from django.core.exceptions import ValidationError
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from forwarding.rules import services
    from portal.audit import Actor

    actor = Actor.system("bench")
    versions = {p.id: 1 for p in people}
    times, queries, refused = [], [], 0
    for i in range(WARMUP + edits):
        person = rng.choice(people)
        if i % 2 == 0:
            destination = f"+1303{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        else:
            other = rng.choice(people)
            while other.id == person.id:
                other = rng.choice(people)
            destination = rng.choice(other.lines())
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            try:
                settings = services.forwarding_update(
                    person=person, expected_version=versions[person.id], actor=actor,
                    changes={"always_enabled": True, "always_destination": destination},
                )
                versions[person.id] = settings.version
                ok = True
            except ValidationError:
                ok = False
            elapsed = time.perf_counter() - started
        if i < WARMUP:
            continue
        refused += not ok
        times.append(elapsed * 1000)
        queries.append(len(captured.captured_queries))
    return times, queries, refused


def summary(times, queries, refused):
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "p50 ms": cuts[49], "p95 ms": cuts[94], "p99 ms": cuts[98],
        "mean ms": statistics.fmean(times),
        "queries/edit mean": statistics.fmean(queries),
        "queries/edit max": max(queries),
        "refused (loops)": refused,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10000, help="size of the large org")
    parser.add_argument("--small", type=int, default=100, help="size of the small org")
    parser.add_argument("--edits", type=int, default=300, help="timed edits per org")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "portal.settings.test"})
    create_database()

    import django

    django.setup()
    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    from django.db import connection

    results = {}
    try:
        for index, size in enumerate((args.small, args.people), start=1):
            started = time.monotonic()
            _, people = make_org(size, index)
            print(f"org of {size} people created in {time.monotonic() - started:.1f} s",
                  flush=True)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # plans as in a live database, not an empty one
            rng = random.Random(args.seed)
            started = time.monotonic()
            results[size] = summary(*run_edits(people, args.edits, rng))
            print(f"{args.edits} edits in the org of {size} took "
                  f"{time.monotonic() - started:.1f} s", flush=True)
    finally:
        broker.flushdb()
        connection.close()

    small, large = results[args.small], results[args.people]
    print()
    print(f"{'':22}{'N=' + str(args.small):>12}{'N=' + str(args.people):>12}{'ratio':>9}")
    for name in small:
        a, b = small[name], large[name]
        ratio = f"{b / a:9.2f}" if a else f"{'-':>9}"
        fmt = "12.0f" if name == "refused (loops)" or name.endswith("max") else "12.2f"
        print(f"{name:22}{a:{fmt}}{b:{fmt}}{ratio}")


if __name__ == "__main__":
    main()
