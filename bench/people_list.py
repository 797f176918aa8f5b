"""Latency of the people list page and the people API in an org of 10,000 people, next to
a minimal Django view (/healthz) served by the same server in the same run.

    python bench/people_list.py [--people 10000] [--requests 300] [--workers 2]

Needs PostgreSQL (as `make test` starts it). Uses its own database (portal_bench_list)
and Redis database 10; serves the project with gunicorn (gthread workers, so the client's
keep-alive sessions are kept) on a free port. Each endpoint is requested in turn, round
robin, so that noise of the machine falls on all three alike. Prints p50/p95/p99 per
endpoint, each one's ratio to /healthz, and whether p95 is within the 100 ms target.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = "portal_bench_list"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
TARGET_P95_MS = 100.0


def number(area, exchange, n):
    """A valid North American number, distinct for each n."""
    return f"+1{area}{exchange + n // 10000}{n % 10000:04d}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def seed(people_count):
    """The org, its people (half with settings, some behind, a few failed), an admin with
    a session cookie and an API token."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from forwarding.models import ForwardingSettings, SyncStatus
    from portal.models import Membership, Organization, Person, User

    org = Organization.objects.create(name="Bench List", provider_kind="webex",
                                      provider_org_id="bench-list", default_region="US")
    Person.objects.bulk_create([
        Person(org=org, display_name=f"Person {n:05d}", email=f"p{n}@bench.example",
               phone_number=number("202", 300, n), provider_person_id=f"bench-{n}")
        for n in range(people_count)], batch_size=2000)
    ids = list(Person.objects.filter(org=org).order_by("id").values_list("id", flat=True))
    rows = []
    for n, person_id in enumerate(ids[::2]):
        status = (SyncStatus.FAILED if n % 50 == 0 else
                  SyncStatus.PENDING if n % 7 == 0 else SyncStatus.SYNCED)
        rows.append(ForwardingSettings(
            person_id=person_id, busy_enabled=True, busy_destination=number("303", 400, n),
            no_answer_enabled=n % 3 == 0, no_answer_destination="2001",
            no_answer_ring_after=3, version=2,
            synced_version=1 if status != SyncStatus.SYNCED else 2, sync_status=status))
    ForwardingSettings.objects.bulk_create(rows, batch_size=2000)

    user = User.objects.create_user(username="bench@bench.example",
                                    email="bench@bench.example", password="bench-password-1")
    Membership.objects.create(user=user, org=org, role=Membership.ADMIN)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    token = Token.objects.create(user=user)
    return org, session.session_key, token.key


def serve(port, workers, threads, env):
    cmd = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}",
           "-w", str(workers), "--worker-class", "gthread", "--threads", str(threads),
           "--keep-alive", "30", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    import requests

    try:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                    return proc
            except requests.RequestException:  # not listening yet, or importing Django
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")
    except BaseException:
        proc.terminate()  # never leave a server behind
        proc.wait(10)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="per endpoint, not counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

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
    org, session_key, token = seed(args.people)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    print(f"seeded {args.people} people in {time.monotonic() - started:.1f} s")

    import requests

    port = free_port()
    server = serve(port, args.workers, args.threads, env)
    base = f"http://127.0.0.1:{port}"
    endpoints = {
        "healthz (minimal view)": (f"{base}/healthz", {}),
        "people list page": (f"{base}/orgs/{org.id}/people/", {"sessionid": session_key}),
        "people API": (f"{base}/api/v1/people/?org={org.id}", {}),
    }
    sessions = {}
    for name, (_url, cookies) in endpoints.items():
        http = requests.Session()  # keep-alive, one connection per endpoint
        http.cookies.update(cookies)
        if name == "people API":
            http.headers["Authorization"] = f"Token {token}"
        sessions[name] = http
    timings = {name: [] for name in endpoints}
    try:
        for round_number in range(args.warmup + args.requests):
            for name, (url, _cookies) in endpoints.items():
                t0 = time.perf_counter()
                response = sessions[name].get(url, timeout=30)
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {response.status_code} {response.text[:300]}")
                if round_number == 0 and name == "people API":
                    assert response.json()["count"] == args.people, response.json()["count"]
                if round_number == 0 and name == "people list page":
                    assert f"{args.people:,}" in response.text or str(args.people) in \
                        response.text
                if round_number >= args.warmup:
                    timings[name].append(elapsed)
    finally:
        server.terminate()
        server.wait(10)

    base_stats = None
    print(f"\n{args.requests} requests per endpoint after {args.warmup} warm-up, sequential "
          f"keep-alive, gunicorn {args.workers}x{args.threads} gthread, {args.people} people, "
          "50 per page\n")
    print(f"{'endpoint':26} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean':>8}"
          f" {'p50 x':>7} {'p95 x':>7} {'p99 x':>7}")
    ok = True
    for name, values in timings.items():
        stats = [percentile(values, 50), percentile(values, 95), percentile(values, 99)]
        if base_stats is None:
            base_stats = stats
        ratios = [s / b for s, b in zip(stats, base_stats, strict=True)]
        print(f"{name:26} {stats[0]:8.2f} {stats[1]:8.2f} {stats[2]:8.2f} "
              f"{statistics.mean(values):8.2f} {ratios[0]:7.1f} {ratios[1]:7.1f} {ratios[2]:7.1f}")
        if name != "healthz (minimal view)" and stats[1] > TARGET_P95_MS:
            ok = False
    print(f"\ntarget: p95 <= {TARGET_P95_MS:.0f} ms for the page and the API: "
          + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
