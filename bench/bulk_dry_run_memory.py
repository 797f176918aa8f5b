"""Peak memory and time of a CSV dry run of the largest file the portal takes
(BULK_MAX_ROWS rows, 100,000 by default), through the real code path: the upload's
checks and stored draft (`drafts.draft_create`), then the bulk worker's task
(`tasks.bulk_dry_run`, which streams the file, plans it in batches and stores the rows).

    python bench/bulk_dry_run_memory.py [--rows 100000] [--reuse]

Needs PostgreSQL (and Redis for the settings' cache, as `make test` starts them). Drops
and creates its own database (portal_bench_bulk). The org has one person per row, each
with a settings row; every CSV row changes busy, no-answer and always forwarding, and the
always-forwards chain through the org so the loop check walks (as the 10,000-row test).

The dry run runs in a fresh child process, twice: once plain, for the time and the
process's peak resident memory (ru_maxrss, minus what the process held after start-up),
and once under tracemalloc, for the peak of Python allocations (tracemalloc slows it
down, so its time is not the figure).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = "portal_bench_bulk"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
COLUMNS = ("email", "busy_enabled", "busy_destination", "no_answer_enabled",
           "no_answer_destination", "no_answer_ring_after", "always_enabled",
           "always_destination")


def number(n):
    """Person n's own number (E.164, as Person.save stores it): up to 100,000 of them."""
    return f"+1202{300 + n // 10000}{n % 10000:04d}"


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux
    carries that over from the parent across fork and exec, so a child would report the
    parent's peak (the set-up of 100,000 people)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def environment():
    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "portal.settings.test"})


def setup_database(rows):
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True,
                   env=os.environ)
    import django

    django.setup()
    from forwarding.models import ForwardingSettings
    from portal.models import Membership, Organization, Person, User

    org = Organization.objects.create(name="Bench bulk", provider_kind="webex",
                                      provider_org_id="bench-bulk", default_region="US",
                                      base_url="http://127.0.0.1:9",
                                      credentials={"token": "bench"})
    admin = User.objects.create_user(username="bench-admin@bulk.example",
                                     email="bench-admin@bulk.example", password="x" * 12)
    Membership.objects.create(user=admin, org=org, role=Membership.ADMIN)
    people = Person.objects.bulk_create(
        (Person(org=org, display_name=f"Person {n:06d}", email=f"p{n}@bulk.example",
                phone_number=number(n),
                provider_person_id=f"bulk-{n}") for n in range(rows)), batch_size=5000)
    ForwardingSettings.objects.bulk_create(
        (ForwardingSettings(person=p, version=1, synced_version=1) for p in people),
        batch_size=5000)
    return org.pk, admin.pk


def existing(rows):
    import django

    django.setup()
    from forwarding.models import BulkDraft
    from portal.models import Organization, Person, User

    org = Organization.objects.get(provider_org_id="bench-bulk")
    assert Person.objects.filter(org=org).count() == rows, "set up again without --reuse"
    BulkDraft.objects.all().delete()
    return org.pk, User.objects.get(username="bench-admin@bulk.example").pk


def csv_bytes(rows) -> bytes:
    lines = [",".join(COLUMNS)]
    for n in range(rows):
        nxt = (n + 1) % rows
        lines.append(f"p{n}@bulk.example,yes,+1720555{n % 10000:04d},yes,2002,4,yes,"
                     f"{number(nxt)}")
    return ("\n".join(lines) + "\n").encode()


def measure(path, org_id, user_id, trace):
    """The child: one dry run, its figures as JSON on stdout."""
    environment()
    import django

    django.setup()
    import tracemalloc

    from django.db import connection

    from forwarding.bulk import drafts, tasks
    from forwarding.models import BulkDraft
    from portal.models import Organization, User

    org, user = Organization.objects.get(pk=org_id), User.objects.get(pk=user_id)
    connection.ensure_connection()
    data = Path(path).read_bytes()
    base_rss = peak_rss_kb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    draft, problems = drafts.draft_create(org=org, user=user, via_partner=None,
                                               filename="bench.csv", data=data)
    assert not problems and draft.status == BulkDraft.QUEUED, (problems, draft.status)
    queued = time.perf_counter()
    tasks.bulk_dry_run(draft.pk)  # what the bulk worker runs
    finished = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    draft.refresh_from_db()
    print(json.dumps({
        "status": draft.status, "rows": draft.rows_done, "changing": draft.changing,
        "invalid": draft.invalid, "upload_s": queued - started,
        "worker_s": finished - queued, "tracemalloc_peak": peak,
        "rss_start_kb": base_rss,
        "rss_peak_kb": peak_rss_kb(),
    }))


def child(path, org_id, user_id, trace):
    out = subprocess.run(
        [sys.executable, __file__, "--measure", path, "--org", str(org_id), "--user",
         str(user_id), *(["--trace"] if trace else [])],
        cwd=ROOT, env=os.environ, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of the file (default: BULK_MAX_ROWS)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of the previous run (same --rows)")
    parser.add_argument("--measure")
    parser.add_argument("--org", type=int)
    parser.add_argument("--user", type=int)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.measure:
        return measure(args.measure, args.org, args.user, args.trace)

    environment()
    from django.conf import settings

    rows = args.rows or settings.BULK_MAX_ROWS
    # The file must be a dry run for the worker, and allowed in rows and bytes.
    os.environ["BULK_INLINE_DRY_RUN_ROWS"] = str(min(settings.BULK_INLINE_DRY_RUN_ROWS,
                                                    rows - 1))
    if args.reuse:
        org_id, user_id = existing(rows)
    else:
        print(f"setting up {rows:,} people ...", flush=True)
        org_id, user_id = setup_database(rows)
    data = csv_bytes(rows)
    limit = settings.BULK_MAX_UPLOAD_BYTES
    print(f"file: {rows:,} rows, {len(data) / 2**20:.1f} MiB (upload limit "
          f"{limit / 2**20:.1f} MiB, row limit {settings.BULK_MAX_ROWS:,})")
    assert len(data) <= limit and rows <= settings.BULK_MAX_ROWS, "not an allowed file"
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
        handle.write(data)
    try:
        plain = child(handle.name, org_id, user_id, trace=False)
        traced = child(handle.name, org_id, user_id, trace=True)
    finally:
        os.unlink(handle.name)
    assert plain["status"] == "ready" and plain["rows"] == rows, plain
    print(f"result: {plain['rows']:,} rows checked, {plain['changing']:,} changing, "
          f"{plain['invalid']} invalid (the loop the chain closes)")
    print(f"time: upload checks and draft {plain['upload_s']:.1f} s, worker dry run "
          f"{plain['worker_s']:.1f} s")
    print(f"peak RSS of the process: {plain['rss_peak_kb'] / 1024:.0f} MiB "
          f"({plain['rss_start_kb'] / 1024:.0f} MiB after start-up, so "
          f"{(plain['rss_peak_kb'] - plain['rss_start_kb']) / 1024:.0f} MiB for the dry run)")
    print(f"tracemalloc peak of the dry run: {traced['tracemalloc_peak'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
