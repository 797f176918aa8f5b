"""Latency of the people list page, its search and the people API (with its filters) in an
org of 10,000 people and in one of 200,000, next to a minimal Django view (/healthz)
served by the same server in the same run.

    python bench/people_list.py [--small 10000] [--large 200000] [--requests 200]
                                [--web bench|production|procfile]

Needs PostgreSQL (as `make test` starts it). Uses its own database (portal_bench_list,
or BENCH_DATABASE_URL) and Redis database 10 (BENCH_REDIS_URL); serves the project with
gunicorn (gthread workers, so the client's keep-alive sessions are kept) on a free port:
by default --workers x --threads; `--web production` as production starts it (every
setting from gunicorn.conf.py) and `--web procfile` with the Procfile's command, as
`make run` does, so that two runs compare `make run`'s pages with production's (issue 17).
Both orgs live in the same database; people are written by INSERT ... SELECT from one
template row each (half with forwarding settings, 1 in 100 of those failed, 1 in 14
pending). Every endpoint of both orgs is requested in turn, round robin, so that noise
of the machine falls on all alike. Prints p50/p95 per endpoint at each size, the p95's
ratio large/small, and whether p95 <= 100 ms at the large size and the ratio <= 1.2
(issue 17). Searches: a surname (1 in 50 people), an address and a number (one person).
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

from servers import (  # noqa: E402
    start_procfile_web,
    start_production_web,
    stop,
    stop_on_sigterm,
    wait_listening,
)

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL",
                              "postgres://postgres@127.0.0.1:5432/portal_bench_list")
DB = DATABASE_URL.rsplit("/", 1)[1].split("?", 1)[0]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
TARGET_P95_MS = 100.0
TARGET_RATIO = 1.2
FIRST = ("Ada Grace Alan Edsger Barbara Donald Margaret Ken Radia Linus Frances John "
         "Katherine Dennis Hedy Tim Sophie Guido Annie Niklaus").split()
LAST = ("Lovelace Hopper Turing Dijkstra Liskov Knuth Hamilton Thompson Perlman Torvalds "
        "Allen McCarthy Johnson Ritchie Lamarr Berners-Lee Wilson Rossum Easley Wirth "
        "Okafor Nakamura Silva Kowalski Jensen Moreau Rossi Novak Haddad Kim Patel Garcia "
        "Murphy Schmidt Dubois Costa Ivanova Larsen Tanaka Mensah Horvat Svensson Popescu "
        "Nieminen Papadopoulos Yilmaz Fischer Bauer Keller Wagner").split()


def number(area, exchange, n):
    """A valid North American number, distinct for each n."""
    return f"+1{area}{exchange + n // 10000}{n % 10000:04d}"


def percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _copy_rows(model, template_pk, overrides: dict, source_sql: str, params: list):
    """INSERT one row of `model` per row of `source_sql` (aliased `src`): every column as
    the template row has it, but the `overrides` (column -> SQL over src)."""
    from django.db import connection

    q = connection.ops.quote_name
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = [overrides.get(column, f"t.{q(column)}") for column in columns]
    table = q(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM ({source_sql}) src, {table} t "
            f"WHERE t.id = %s", [*params, template_pk])


def seed_org(name, people_count):
    """An org of `people_count` people (half with settings, some behind, a few failed)."""
    from forwarding.models import ForwardingSettings, SyncStatus
    from portal.models import Organization, Person

    org = Organization.objects.create(name=name, provider_kind="webex",
                                      provider_org_id=f"bench-{people_count}",
                                      default_region="US")
    template = Person.objects.create(org=org, display_name="Template", email="t@bench.example",
                                     phone_number=number("202", 300, 0),
                                     provider_person_id="template")
    _copy_rows(Person, template.pk, {
        "display_name": "(%s::text[])[1 + n %% 20] || ' ' || (%s::text[])[1 + (n / 20) %% 50]"
                        " || ' ' || n",
        "email": "'p' || n || '@bench.example'",
        "phone_number": "'+1202' || (300 + n / 10000) || lpad((n %% 10000)::text, 4, '0')",
        "provider_person_id": "'bench-' || n",
    }, "SELECT generate_series(0, %s) AS n", [list(FIRST), list(LAST), people_count - 1])
    template.delete()
    first = Person.objects.filter(org=org).order_by("id").first()
    settings = ForwardingSettings.objects.create(
        person=first, busy_enabled=True, busy_destination=number("303", 400, 0),
        no_answer_enabled=True, no_answer_destination="2001", no_answer_ring_after=3,
        version=2, synced_version=2, sync_status=SyncStatus.SYNCED)
    _copy_rows(ForwardingSettings, settings.pk, {"person_id": "src.id"},
               "SELECT id FROM portal_person WHERE org_id = %s AND id <> %s "
               "AND abs(hashtext(id::text || 's')) %% 2 = 0",
               [org.pk, first.pk])
    # Statuses by a hash of the id, so that they do not follow the names' order (a name
    # repeats every 20 people, and the filters walk the people by name).
    from django.db import connection

    with connection.cursor() as cursor:
        for status, condition in ((SyncStatus.FAILED, "h %% 100 = 0"),
                                  (SyncStatus.PENDING, "h %% 14 = 0 AND h %% 100 <> 0")):
            cursor.execute(
                "UPDATE forwarding_forwardingsettings fs SET sync_status = %s, "  # noqa: S608
                "synced_version = 1 FROM (SELECT id, abs(hashtext(id::text)) AS h "
                f"FROM portal_person WHERE org_id = %s) p WHERE p.id = fs.person_id AND "
                f"{condition}", [status, org.pk])
    return org


def seed(sizes):
    """One org per size, an admin of all of them with a session cookie and an API token."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from portal.models import Membership, User

    orgs = {size: seed_org(f"Bench List {size}", size) for size in sizes}
    user = User.objects.create_user(username="bench@bench.example",
                                    email="bench@bench.example", password="bench-password-1")
    for org in orgs.values():
        Membership.objects.create(user=user, org=org, role=Membership.ADMIN)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    token = Token.objects.create(user=user)
    return orgs, session.session_key, token.key


def serve(port, workers, threads, env):
    cmd = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}",
           "-w", str(workers), "--worker-class", "gthread", "--threads", str(threads),
           "--keep-alive", "30", "--log-level", "warning"]
    return wait_listening(subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True),
                          port)


def endpoints_for(base, org, n):
    """(name, url, kind) of what an admin of `org` asks for; kind: page or api. The
    address and number searches find person `n` (in every org)."""
    page, api = f"{base}/orgs/{org.id}/people/", f"{base}/api/v1/people/?org={org.id}"
    phone = f"202-{300 + n // 10000}-{n % 10000:04d}"
    return [
        ("page", page, "page"),
        ("page: search a name", f"{page}?q=Okafor", "page"),
        ("page: search an email", f"{page}?q=p{n}%40bench", "page"),
        ("page: search a number", f"{page}?q={phone}", "page"),
        ("page 40", f"{page}?page=40", "page"),
        ("API", api, "api"),
        ("API: search a name", f"{api}&q=Okafor", "api"),
        ("API: sync_status=failed", f"{api}&sync_status=failed", "api"),
        ("API: sync_status=behind", f"{api}&sync_status=behind", "api"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="per endpoint, not counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--web", choices=["bench", "production", "procfile"], default="bench",
                        help="bench: gunicorn --workers x --threads; production: gunicorn "
                             "with gunicorn.conf.py alone; procfile: the Procfile's command")
    args = parser.parse_args()
    stop_on_sigterm()

    env = dict(os.environ, DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL,
               DJANGO_SETTINGS_MODULE="portal.settings.test", CONN_MAX_AGE="600",
               LOG_LEVEL="WARNING")
    os.environ.update(env)
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                   check=True)

    import django

    django.setup()
    started = time.monotonic()
    sizes = (args.small, args.large)
    orgs, session_key, token = seed(sizes)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    print(f"seeded {' and '.join(f'{n:,}' for n in sizes)} people in "
          f"{time.monotonic() - started:.1f} s")

    import requests

    from tests.integration.harness import free_port

    port = free_port()
    if args.web == "production":
        server = start_production_web(env, port)
    elif args.web == "procfile":
        server = start_procfile_web(env, port)
    else:
        server = serve(port, args.workers, args.threads, env)
    base = f"http://127.0.0.1:{port}"
    endpoints = [("healthz (minimal view)", None, f"{base}/healthz", "plain")]
    for size in sizes:
        endpoints += [(name, size, url, kind) for name, url, kind in
                      endpoints_for(base, orgs[size], min(4321, sizes[0] - 1))]
    page_client = requests.Session()  # keep-alive
    page_client.cookies.update({"sessionid": session_key})
    api_client = requests.Session()
    api_client.headers["Authorization"] = f"Token {token}"
    clients = {"plain": requests.Session(), "page": page_client, "api": api_client}
    timings = {(name, size): [] for name, size, _url, _kind in endpoints}
    try:
        for round_number in range(args.warmup + args.requests):
            for name, size, url, kind in endpoints:
                t0 = time.perf_counter()
                response = clients[kind].get(url, timeout=30)
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{name} ({size}): HTTP {response.status_code} "
                                     f"{response.text[:300]}")
                if round_number == 0:
                    check_first_answer(name, size, response)
                if round_number >= args.warmup:
                    timings[(name, size)].append(elapsed)
    finally:
        stop(server)
    server_label = {"production": "production's gunicorn (gunicorn.conf.py)",
                    "procfile": "the Procfile's web command (make run)"}.get(
        args.web, f"gunicorn {args.workers}x{args.threads} gthread")

    print(f"\n{args.requests} requests per endpoint after {args.warmup} warm-up, sequential "
          f"keep-alive, round robin, {server_label}, "
          f"50 per page\n")
    small, large = sizes
    healthz = timings[("healthz (minimal view)", None)]
    print(f"{'healthz (minimal view)':26} p50 {percentile(healthz, 50):6.2f} ms   "
          f"p95 {percentile(healthz, 95):6.2f} ms\n")
    print(f"{'endpoint':26} {f'p50 {small:,}':>12} {f'p95 {small:,}':>12} "
          f"{f'p50 {large:,}':>13} {f'p95 {large:,}':>13} {'p95 ratio':>10}")
    ok = True
    for name, _url, _kind in endpoints_for(base, orgs[small], 0):
        a, b = timings[(name, small)], timings[(name, large)]
        p95a, p95b = percentile(a, 95), percentile(b, 95)
        ratio = p95b / p95a
        met = p95b <= TARGET_P95_MS and ratio <= TARGET_RATIO
        ok = ok and met
        print(f"{name:26} {percentile(a, 50):9.2f} ms {p95a:9.2f} ms {percentile(b, 50):10.2f} ms "
              f"{p95b:10.2f} ms {ratio:9.2f}x {'' if met else ' <- NOT met'}")
    print(f"\ntargets: p95 <= {TARGET_P95_MS:.0f} ms at {large:,} people and <= "
          f"{TARGET_RATIO}x the p95 at {small:,}: " + ("met" if ok else "NOT met"))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


def check_first_answer(name, size, response):
    """The answers say what the bench thinks they say (counts, a match found)."""
    if name == "API":
        body = response.json()
        assert body["count"] == size or not body["count_is_exact"], body["count"]
    if name == "page":
        assert f"{size:,} people" in response.text or "About " in response.text, \
            "the page does not say how many"
    if "search" in name:
        assert "Nobody matches" not in response.text and '"count":0' not in response.text, \
            f"{name}: nothing found"


if __name__ == "__main__":
    sys.exit(main())
