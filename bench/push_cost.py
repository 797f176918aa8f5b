"""What one push costs the worker: CPU and SQL statements per push, in process, against
the sandbox (real HTTP), for N people of one Webex org whose change is always-forward.

    python bench/push_cost.py [--people 300] [--profile]

Uses its own database (BENCH_DATABASE_URL, default portal_bench_push) and Redis
(BENCH_REDIS_URL, db 14). Prints wall and CPU ms per push, statements per push and
the statements of one push; `--profile` adds cProfile's top functions.
"""

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from servers import stop_on_sigterm  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL",
                              "postgres://postgres@127.0.0.1:5432/portal_bench_push")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def number(area, exchange, n):
    return f"+1{area}{exchange + n // 10000}{n % 10000:04d}"


def main():
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "portal.settings.test"})
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {name}")
    admin.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    from unittest import mock

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from forwarding.models import ForwardingSettings, SyncStatus
    from forwarding.rules import services
    from forwarding.sync import delivery
    from portal import audit
    from portal.models import Organization, Person
    from tests.integration.harness import SandboxClient
    from tests.sandbox.process import start_sandbox, stop_sandbox

    url, proc = start_sandbox()
    try:
        sandbox = SandboxClient(url)
        sandbox.control("POST", "tokens", expect=201,
                        json={"token": "bench", "orgId": "bench-org", "partnerFor": []})
        org = Organization.objects.create(
            name="Bench", provider_kind="webex", provider_org_id="bench-org",
            base_url=f"{url}/webex/v1", credentials={"token": "bench"},
            rate_limit_per_second=100000)
        people = Person.objects.bulk_create([
            Person(org=org, display_name=f"Bench {n}", phone_number=number("202", 300, n),
                   provider_person_id=f"bench-{n}") for n in range(args.people)])
        for person in people:
            sandbox.control("POST", "webex/people", expect=201,
                            json={"orgId": "bench-org", "personId": person.provider_person_id})
        with mock.patch("celery.current_app.send_task"):
            for n, person in enumerate(people):
                services.forwarding_update(
                    person=person, expected_version=1, actor=audit.Actor.system("bench"),
                    changes={"always_enabled": True,
                             "always_destination": number("303", 200, n)})
        ids = list(ForwardingSettings.objects.order_by("pk").values_list("pk", flat=True))
        ForwardingSettings.objects.update(next_attempt_at=None)
        # One push first (imports, the thread's HTTP session, the connection): a worker's
        # steady state is what is measured.
        first, ids = ids[0], ids[1:]
        with mock.patch("celery.current_app.send_task"):
            delivery.push(first, slot_reserved=True, admitted=True)
        # CPU time, not wall time: waiting on the database or the sandbox costs no CPU.
        profile = cProfile.Profile(time.process_time) if args.profile else None
        wall, cpu = time.monotonic(), time.process_time()
        with mock.patch("celery.current_app.send_task"), \
                CaptureQueriesContext(connection) as queries:
            if profile:
                profile.enable()
            for settings_id in ids:
                delivery.push(settings_id, slot_reserved=True, admitted=True)
            if profile:
                profile.disable()
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        n = len(ids)
        synced = ForwardingSettings.objects.filter(sync_status=SyncStatus.SYNCED).count()
        print(f"pushes {n}  load {os.getloadavg()[0]:.2f}  synced {synced}/{args.people}")
        print(f"ms per push: wall {1000 * wall / n:.2f}  cpu {1000 * cpu / n:.2f}"
              f"{'  (under cProfile)' if profile else ''}")
        print(f"statements per push {len(queries) / n:.2f}")
        per = len(queries) // n
        for q in queries.captured_queries[:per]:
            print("   ", q["sql"][:140])
        print(Counter(q["sql"].split()[0] for q in queries.captured_queries).most_common())
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    finally:
        stop_sandbox(proc)
        from django.db import connection as conn

        conn.close()


if __name__ == "__main__":
    main()
