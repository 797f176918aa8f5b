"""Push N people through the real pipeline at a sandbox rate limit R and report how close
convergence comes to the ideal N/R.

    python bench/push_convergence.py [--people 1000] [--rate 50] [--workers 2]

Needs PostgreSQL and Redis (as `make test` starts them). Uses its own database
(portal_bench) and Redis database 9, a sandbox subprocess and real `celery worker`
processes. Prints: time to converge, ideal N/R, their ratio, 429s, writes per person.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from servers import stop_on_sigterm  # noqa: E402

DB = "portal_bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB}")
# The database dropped and created is the one BENCH_DATABASE_URL names (not always DB).
DB_NAME = DATABASE_URL.rsplit("/", 1)[1]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def number(area, exchange, n):
    """A valid North American number, distinct for each n."""
    return f"+1{area}{exchange + n // 10000}{n % 10000:04d}"


def main():
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool size per worker")
    args = parser.parse_args()

    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "portal.settings.test"})
    import psycopg

    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()

    from django.db import transaction

    from forwarding.models import ForwardingSettings, SyncStatus
    from forwarding.rules import services
    from portal import audit
    from portal.models import Organization, Person
    from tests.integration.harness import SandboxClient, Worker
    from tests.sandbox.process import start_sandbox, stop_sandbox

    url, sandbox_proc = start_sandbox()
    sandbox = SandboxClient(url)
    workers = []
    try:
        sandbox.control("POST", "tokens", expect=201,
                        json={"token": "bench", "orgId": "bench-org", "partnerFor": []})
        sandbox.control("PUT", "ratelimits/bench-org", json={"perSecond": args.rate})
        org = Organization.objects.create(
            name="Bench", provider_kind="webex", provider_org_id="bench-org",
            base_url=f"{url}/webex/v1", credentials={"token": "bench"},
            rate_limit_per_second=args.rate)
        people = Person.objects.bulk_create([
            Person(org=org, display_name=f"Bench {n}", phone_number=number("202", 300, n),
                   provider_person_id=f"bench-{n}") for n in range(args.people)
        ])
        for person in people:
            sandbox.control("POST", "webex/people", expect=201,
                            json={"orgId": "bench-org", "personId": person.provider_person_id})
            services.settings_for(person)

        env = dict(os.environ, CONN_MAX_AGE="60")
        for n in range(args.workers):
            workers.append(Worker(env=env, name=f"bench{n}", concurrency=args.concurrency,
                                  beat=(n == 0)).start())

        # The N edits are saved in one transaction (like a bulk import's chunk): when it
        # commits, N people are behind at once. The clock starts at that commit, so the
        # figure is the pipeline's, not the speed of saving edits (reported apart).
        actor = audit.Actor.system("bench")
        saving = time.monotonic()
        with transaction.atomic():
            for n, person in enumerate(people):
                services.forwarding_update(
                    person=person, expected_version=1, actor=actor,
                    changes={"always_enabled": True,
                             "always_destination": number("303", 200, n)},
                )
            started = time.monotonic()  # the on-commit enqueues run as the block exits
        enqueued = started - saving
        pending = ForwardingSettings.objects.exclude(sync_status=SyncStatus.SYNCED)
        deadline = started + max(120, 5 * args.people / args.rate)
        while pending.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        converged = ForwardingSettings.objects.filter(
            sync_status=SyncStatus.SYNCED, synced_version=2).count()
        stats = sandbox.control("GET", "stats", expect=200).json()
        by_status = {int(k): v for k, v in stats["byStatus"].items()}
        total = sum(by_status.values())
        too_many = by_status.get(429, 0)
        writes = sum(1 for r in sandbox.requests("/webex/") if r["method"] == "PUT")
        ideal = args.people / args.rate
        print(f"people={args.people} rate={args.rate}/s workers={args.workers}x"
              f"{args.concurrency}")
        print(f"edits saved in           {enqueued:8.2f} s   (before the clock starts)")
        print(f"time to converge         {elapsed:8.2f} s")
        print(f"ideal N/R                {ideal:8.2f} s")
        print(f"ratio                    {elapsed / ideal:8.3f}   (target <= 1.15)")
        print(f"provider requests        {total:8d}")
        print(f"429 responses            {too_many:8d}   ({100 * too_many / max(total, 1):.2f}%,"
              f" target <= 1%)")
        print(f"writes per person        {writes / args.people:8.3f}")
        print(f"converged                {converged:8d} / {args.people}")
    finally:
        for worker in workers:
            worker.stop()
        stop_sandbox(sandbox_proc)
        from django.db import connection

        connection.close()


if __name__ == "__main__":
    main()
