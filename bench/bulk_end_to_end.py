"""A bulk job end to end: from the admin's "apply" to the last person converged at the
provider, through the real job path, at a sandbox rate limit R.

    python bench/bulk_end_to_end.py [--people 1000] [--rate 50] [--kind edit|csv]
    python bench/bulk_end_to_end.py --people 10000 --rate 200 --kind csv

`edit` is the people list's bulk edit (set always-forward for everyone:
bulk.plan.plan_edit, then jobs.job_create, as the page and the API do): the clock starts
before the plan, which the apply request makes. `csv` is an import of the same change as
a file, as an admin makes it: the dry run (drafts.draft_create and draft_run, which the
admin reads before applying) happens before the clock, which starts at "Apply"
(drafts.draft_apply: the job from the stored dry run). The clock stops when the last
settings row is synced. Needs PostgreSQL and Redis (as `make test` starts them); uses
its own database (BENCH_DATABASE_URL, default portal_bench_bulk) and Redis
(BENCH_REDIS_URL, db 14), a sandbox subprocess and real `celery worker` processes.
Prints: elapsed, ideal N/R, their ratio, the save phase, 429s, the time the provider's
rate was left unused between the first and last request, converged count.
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

DB = "portal_bench_bulk"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def number(area, exchange, n):
    """A valid North American number, distinct for each n."""
    return f"+1{area}{exchange + n // 10000}{n % 10000:04d}"


def _db_name():
    return DATABASE_URL.rsplit("/", 1)[1]


def _fresh_database():
    import psycopg

    admin = psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {_db_name()} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {_db_name()}")
    admin.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def traffic(requests, rate):
    """The provider's side: requests, and the time the provider's rate was left unused
    between the first and the last request: how much longer they took than N - 1 slots.
    (Summing the gaps between consecutive requests would count a pause that a burst
    before or after it made up for: batches go out in bursts that the provider's bucket
    admits, and that sum read 10 s for a run that pushed at 0.997 x N/R.)"""
    requests = sorted(requests, key=lambda r: r["start"])
    if len(requests) < 2:
        return requests, 0.0
    span = requests[-1]["start"] - requests[0]["start"]
    return requests, max(0.0, span - (len(requests) - 1) / rate)


def main():
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--kind", choices=("edit", "csv"), default="edit")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool size per worker")
    parser.add_argument("--timeline", action="store_true",
                        help="also print the provider's requests per second")
    args = parser.parse_args()

    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "portal.settings.test"})
    _fresh_database()

    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()

    from forwarding.bulk import drafts, jobs
    from forwarding.bulk.plan import plan_edit
    from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
    from forwarding.rules import services
    from portal import audit
    from portal.models import Membership, Organization, Person
    from tests.cast import make_user
    from tests.integration.harness import SandboxClient, Worker
    from tests.sandbox.process import start_sandbox, stop_sandbox

    url, sandbox_proc = start_sandbox()
    sandbox = SandboxClient(url)
    workers = []
    try:
        sandbox.control("POST", "tokens", expect=201,
                        json={"token": "bench", "orgId": "bench-org", "partnerFor": []})
        org = Organization.objects.create(
            name="Bench", provider_kind="webex", provider_org_id="bench-org",
            base_url=f"{url}/webex/v1", credentials={"token": "bench"},
            rate_limit_per_second=args.rate)
        admin = make_user("admin@bench.example", org=org, role=Membership.ADMIN, mfa=True)
        people = Person.objects.bulk_create([
            Person(org=org, display_name=f"Bench {n}", phone_number=number("202", 300, n),
                   email=f"bench{n}@bench.example", provider_person_id=f"bench-{n}")
            for n in range(args.people)
        ])
        for person in people:
            sandbox.control("POST", "webex/people", expect=201,
                            json={"orgId": "bench-org", "personId": person.provider_person_id})
            services.settings_for(person)
        # Set after the seeding: the bucket starts full and unused, as for a real org.
        sandbox.control("PUT", "ratelimits/bench-org", json={"perSecond": args.rate})

        draft = None
        if args.kind == "csv":
            # The dry run the admin reads before pressing Apply (not on the clock).
            lines = ["provider_person_id,always_enabled,always_destination"]
            lines += [f"{p.provider_person_id},yes,+13032000000" for p in people]
            draft, problems = drafts.draft_create(
                org=org, user=admin, via_partner=None, filename="bench.csv",
                data=("\n".join(lines) + "\n").encode())
            assert not problems, problems
            drafts.draft_run(draft.pk)  # a big file's dry run is the worker's; here, now
            redis.Redis.from_url(REDIS_URL).flushdb()  # its queued message: done already

        env = dict(os.environ, CONN_MAX_AGE="60")
        for n in range(args.workers):
            workers.append(Worker(env=env, name=f"bulk{n}", concurrency=args.concurrency,
                                  beat=(n == 0)).start())

        actor = audit.Actor.for_user(admin, ip="192.0.2.1")
        destination = "+13032000000"
        started_wall, started = time.time(), time.monotonic()
        if args.kind == "edit":
            plan = plan_edit(org, [p.id for p in people], feature="always", action="set",
                             destination=destination)
        planned = time.monotonic() - started
        if args.kind == "edit":
            job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.EDIT,
                                  description=f"bench: always forward {args.people} people")
        else:
            job = drafts.draft_apply(draft_id=draft.pk, user=admin, org=org, actor=actor,
                                     confirm_loops=True)
        created = time.monotonic() - started

        rows = BulkJobRow.objects.filter(job=job)
        behind = ForwardingSettings.objects.exclude(sync_status=SyncStatus.SYNCED)
        deadline = started + max(180, 6 * args.people / args.rate)
        saved = None
        while time.monotonic() < deadline:
            if saved is None and not rows.filter(status=BulkJobRow.PENDING).exists():
                saved = time.monotonic() - started
            if saved is not None and not behind.exists():
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        applied = rows.filter(status=BulkJobRow.APPLIED).count()
        converged = ForwardingSettings.objects.filter(
            sync_status=SyncStatus.SYNCED, always_enabled=True,
            synced_version__gte=2).count()
        log = [r for r in sandbox.requests("/webex/") if r["orgId"] == "bench-org"]
        log, idle = traffic(log, args.rate)
        too_many = sum(1 for r in log if r["status"] == 429)
        first = log[0]["start"] - started_wall if log else float("nan")
        pushing = (log[-1]["end"] - log[0]["start"]) if log else float("nan")
        ideal = args.people / args.rate
        print(f"people={args.people} rate={args.rate}/s kind={args.kind} "
              f"workers={args.workers}x{args.concurrency} load={os.getloadavg()[0]:.2f}")
        print(f"plan (edit: in the request)  {planned:8.2f} s")
        print(f"job created (rows stored)     {created:8.2f} s")
        saved = saved if saved is not None else float("nan")
        print(f"save phase (all rows applied) {saved:8.2f} s")
        print(f"first provider request at     {first:8.2f} s")
        print(f"pushing (first to last)       {pushing:8.2f} s   "
              f"(ratio {pushing / ideal:.3f})")
        print(f"apply to converged            {elapsed:8.2f} s")
        print(f"ideal N/R                     {ideal:8.2f} s")
        print(f"ratio                         {elapsed / ideal:8.3f}")
        print(f"provider requests             {len(log):8d}")
        print(f"429 responses                 {too_many:8d}   "
              f"({100 * too_many / max(len(log), 1):.2f}%)")
        print(f"rate left unused (span - N-1 slots) {idle:5.2f} s")
        print(f"rows applied                  {applied:8d} / {args.people}")
        print(f"converged                     {converged:8d} / {args.people}")
        if args.timeline and log:
            per_second = {}
            for r in log:
                second = int(r["start"] - started_wall)
                per_second[second] = per_second.get(second, 0) + 1
            print("requests per second from apply:",
                  " ".join(f"{per_second.get(n, 0)}" for n in range(max(per_second) + 1)))
    finally:
        for worker in workers:
            worker.stop()
        stop_sandbox(sandbox_proc)
        from django.db import connection

        connection.close()


if __name__ == "__main__":
    main()
