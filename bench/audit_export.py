"""Peak memory of the audit log export (issue 18): an org with 1,000,000 audit rows is
exported whole, as JSON Lines and as CSV, through the code path the page and the API
use (`forwarding.pages.audit_export.stream`: a StreamingHttpResponse fed by a server-side
cursor), and the same for an org with 10,000 rows, to show the peak does not grow with
the rows.

    python bench/audit_export.py [--rows 1000000] [--small 10000] [--reuse] [--trace]
                                 [--formats jsonl,csv]

Needs PostgreSQL (and Redis for the settings, as `make test` starts them). Drops and
creates its own database (portal_bench_audit); the rows are written by one INSERT ...
SELECT over generate_series per org (a million rows in seconds, not a million ORM
saves). Each export runs in a fresh child process that reads the whole response (as the
web server would send it) and reports its peak resident memory (VmHWM) above what it held
once Django was loaded and connected, the bytes and the time; --trace adds a second run
under tracemalloc for the peak of Python allocations (slower, so its time is not the
figure).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = "portal_bench_audit"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")

# One realistic row: a forwarding change with old and new values, about 600 bytes as JSON.
INSERT = """
INSERT INTO portal_auditevent (created_at, org_id, actor_id, actor_label, via_partner_id, ip,
    person_id, person_label, event, old, new, data, correlation_id)
SELECT now() - make_interval(secs => %(rows)s - n), %(org)s, NULL,
       'admin@bench.example', NULL, '198.51.100.7', NULL, 'Person ' || n,
       CASE WHEN n %% 5 = 0 THEN 'push.succeeded' ELSE 'forwarding.updated' END,
       jsonb_build_object('busy_enabled', false, 'busy_destination', '',
                          'no_answer_enabled', false, 'version', n),
       jsonb_build_object('busy_enabled', true,
                          'busy_destination', '+1202555' || lpad((n %% 10000)::text, 4, '0'),
                          'no_answer_enabled', true, 'no_answer_ring_after', 4, 'version', n + 1),
       jsonb_build_object('fields', jsonb_build_array('busy_enabled', 'busy_destination')),
       md5(n::text)
FROM generate_series(1, %(rows)s) AS n
"""


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no /proc/self/status")


def environment():
    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "portal.settings.test"})


def setup_database(sizes):
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True,
                   env=os.environ)
    import django

    django.setup()
    from django.db import connection

    from portal.models import Organization

    orgs = {}
    for rows in sizes:
        org = Organization.objects.create(name=f"Bench audit {rows}", provider_kind="webex",
                                          provider_org_id=f"bench-audit-{rows}")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(INSERT, {"rows": rows, "org": org.pk})
        print(f"  {rows:>9,} rows written in {time.perf_counter() - started:.1f} s", flush=True)
        orgs[rows] = org.pk
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE portal_auditevent")
    return orgs


def existing(sizes):
    import django

    django.setup()
    from portal.models import AuditEvent, Organization

    orgs = {}
    for rows in sizes:
        org = Organization.objects.get(provider_org_id=f"bench-audit-{rows}")
        assert AuditEvent.objects.filter(org=org).count() == rows, "set up again"
        orgs[rows] = org.pk
    return orgs


def measure(org_id, fmt, trace):
    """The child: export one org whole, its figures as JSON on stdout."""
    environment()
    import django

    django.setup()
    import tracemalloc

    from django.db import connection

    from forwarding.pages.audit_export import stream
    from portal.models import Organization

    org = Organization.objects.get(pk=org_id)
    connection.ensure_connection()
    base = peak_rss_kb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    response = stream(org, fmt)
    size = lines = 0
    for chunk in response.streaming_content:  # what the WSGI server writes out
        size += len(chunk)
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    print(json.dumps({"bytes": size, "lines": lines, "seconds": elapsed,
                      "rss_base_kb": base, "rss_peak_kb": peak_rss_kb(),
                      "tracemalloc_peak": tracemalloc.get_traced_memory()[1] if trace
                      else None}))


def child(org_id, fmt, trace=False):
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(org_id), "--format", fmt,
         *(["--trace"] if trace else [])],
        cwd=ROOT, env=os.environ, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of the previous run (same sizes)")
    parser.add_argument("--trace", action="store_true", help="also measure tracemalloc")
    parser.add_argument("--formats", default="jsonl,csv", help="comma-separated: jsonl,csv")
    parser.add_argument("--measure", type=int)
    parser.add_argument("--format", default="jsonl")
    args = parser.parse_args()
    if args.measure:
        return measure(args.measure, args.format, "--trace" in sys.argv)

    environment()
    sizes = sorted({args.small, args.rows})
    if args.reuse:
        orgs = existing(sizes)
    else:
        print(f"setting up orgs with {', '.join(f'{s:,}' for s in sizes)} audit rows ...",
              flush=True)
        orgs = setup_database(sizes)
    print(f"{'rows':>10} {'format':>6} {'MiB out':>8} {'seconds':>8} {'rows/s':>9} "
          f"{'peak RSS above start':>21}" + (f" {'tracemalloc peak':>17}" if args.trace
                                             else ""))
    for rows in sizes:
        for fmt in args.formats.split(","):
            plain = child(orgs[rows], fmt)
            expected = rows + (1 if fmt == "csv" else 0)
            assert plain["lines"] >= expected, (plain, expected)  # CSV cells may hold newlines
            line = (f"{rows:>10,} {fmt:>6} {plain['bytes'] / 2**20:>8.1f} "
                    f"{plain['seconds']:>8.1f} {rows / plain['seconds']:>9,.0f} "
                    f"{(plain['rss_peak_kb'] - plain['rss_base_kb']) / 1024:>17.1f} MiB")
            if args.trace:
                traced = child(orgs[rows], fmt, trace=True)
                line += f" {traced['tracemalloc_peak'] / 2**20:>13.1f} MiB"
            print(line, flush=True)
    print("(process RSS at start, Django loaded and connected: "
          f"{plain['rss_base_kb'] / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
