"""Measure the Graph bot's notification-to-redirect latency with concurrent calls.

    python bench/graph_latency.py [--calls 20] [--rounds 20] [--version v1.0|beta]
                                  [--pool threads|prefork] [--concurrency 8]

The whole road, with real processes: the sandbox simulates `--calls` incoming calls at
the same instant (its batch control call), each on its own Teams line, and posts
Graph's notifications to the portal's webhook, served by gunicorn; the web processes'
redirect threads (or, with --redirect-threads 0, a real `celery worker` on the `calls`
queue) decide with forwarding.rules.routing and post the redirect back to the sandbox. The
sandbox measures, per call, the time from just before it sent the incoming notification
to the arrival of the redirect (`notificationToRedirectMs`); this prints its p50 and p99
over every round after a warm-up one, and the CPU each process spent per call
("PostgreSQL" is the whole server's, other databases of the machine included;
"PostgreSQL (this database)" only the backends serving the bench's database).

The floor, in the same run: a bare bot (bench/bare_bot.py: no database, no Django, one
fixed target) served by the same gunicorn settings answers as many calls on lines of its
own; portal and floor rounds alternate, so the machine's noise falls on both alike. The
figure that counts is the portal's p99 as a ratio to the floor's (target: at most 3x;
`--no-floor` skips it). The p99's ratio to 250 ms is printed too (Graph allows 15 s).

`--database-floor` adds a second reference, in rounds of its own: the same bare bot
keeping the portal's records at their least SQL cost (plain psycopg, prepared statements:
the call's row INSERTed before its redirect is queued, the claim before the POST, the
outcome with an audit row after it, one UPDATE per follow-up). The portal's ratio to it
tells what the records cost from what the portal's own code costs.

Needs PostgreSQL and Redis (as `make test` starts them). Uses its own database
(portal_bench_graph) and Redis database 7, or BENCH_DATABASE_URL and BENCH_REDIS_URL.
"""

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from servers import start_procfile_web, stop, stop_on_sigterm, wait_listening  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL",
                              "postgres://postgres@127.0.0.1:5432/portal_bench_graph")
# The database the bench drops and creates: the one BENCH_DATABASE_URL names, so that two
# people benchmarking on one machine can each use their own.
DB = DATABASE_URL.rsplit("/", 1)[1].split("?", 1)[0]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
TARGET_MS = 250.0
FLOOR_RATIO_TARGET = 3.0


def percentile(values, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _calls_worker_class():
    from tests.integration.harness import Worker, wait_until

    class CallsWorker(Worker):
        """The harness's worker, with a choice of pool (calls wait on I/O: threads)."""

        def __init__(self, *, pool, **kwargs):
            super().__init__(**kwargs)
            self.pool = pool

        def start(self):
            cmd = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", self.queues,
                   "-c", str(self.concurrency), "-P", self.pool, "-n", f"{self.name}@%h",
                   "-l", "warning", "--without-gossip", "--without-mingle",
                   "--prefetch-multiplier", "1"]
            handle = self.log.open("ab")
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=handle,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            # -l warning prints no "ready." line: wait for the worker to answer a ping.
            from portal.celery import app

            wait_until(lambda: self.proc.poll() is not None or app.control.ping(
                destination=[f"{self.name}@{os.uname().nodename}"], timeout=0.5), 60,
                message="calls worker ready")
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker died:\n{self.log.read_text()[-3000:]}")
            return self

    return CallsWorker


def start_web(env, port, workers, threads, app="portal.wsgi:application", extra=(),
              probe="/healthz"):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [gunicorn, app, "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
           "--log-level", "warning", *extra]
    return wait_listening(subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True),
                          port, probe)


def cpu_seconds(pid, which=(11, 12)):
    """CPU seconds (user + system; `which` picks fields of /proc/PID/stat after the
    name: 11 utime, 12 stime) of a process and its descendants, 0 when gone."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total += sum(int(fields[i]) for i in which) / tick
    return total + sum(cpu_seconds(int(child), which) for child in children)


def database_cpu_seconds():
    """CPU seconds of the local PostgreSQL server: its postmaster, the backends that have
    exited (cutime/cstime) and the live ones; None when it cannot be read."""
    try:
        postmaster = int(subprocess.run(["pgrep", "-o", "-x", "postgres"], capture_output=True,
                                        text=True, check=True).stdout.split()[0])
    except (OSError, subprocess.CalledProcessError, IndexError, ValueError):
        return None
    return (cpu_seconds(postmaster, which=(13, 14))  # reaped children
            + cpu_seconds(postmaster))  # itself and the live backends


class DatabaseBackends:
    """CPU seconds the PostgreSQL backends serving one database spent since `start()`:
    the bench's own share of the server's CPU, whatever other databases of the machine
    are doing (their backends' process titles name another database). Sampled after
    every round; a backend that exits between two samples loses the CPU it spent since
    the last one (connections live CONN_MAX_AGE seconds: little)."""

    def __init__(self, database):
        self.title = f" {database} ".encode()
        self.first, self.last = {}, {}

    def _sample(self):
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and self.title in title:
                found[int(entry.name)] = cpu_seconds(int(entry.name))
        return found

    def start(self):
        self.first = self._sample()
        self.last = dict(self.first)

    def sample(self):
        for pid, seconds in self._sample().items():
            self.first.setdefault(pid, 0.0)  # a backend born since: all of its CPU
            self.last[pid] = seconds

    def seconds(self):
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def main():
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="concurrent calls per round")
    parser.add_argument("--rounds", type=int, default=20,
                        help="measured rounds (20 x 20 calls: the p99 is the 4th slowest)")
    parser.add_argument("--version", choices=["v1.0", "beta"], default="v1.0")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="threads (or processes) of the calls worker")
    # A redirect mostly waits on PostgreSQL and on Graph: threads serve it with less CPU
    # than processes (measured: p99 about 30% lower with 20 concurrent calls).
    parser.add_argument("--pool", choices=["threads", "prefork"], default="threads",
                        help="the calls worker's pool")
    parser.add_argument("--redirect-threads", type=int, default=6,
                        help="redirect threads per web process (GRAPH_REDIRECT_THREADS); "
                             "0 sends every redirect through the calls queue")
    # One process more than CPUs: measured on 2 CPUs, 3 x 6 beat 2 x 8 and 4 x 4 (a
    # process whose threads wait for the GIL leaves the CPU to another process).
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-threads", type=int, default=6)
    parser.add_argument("--notification-auth", choices=["on", "off"], default="on",
                        help="verify Graph's signed notification tokens "
                             "(GRAPH_NOTIFICATION_AUTH); off measures the road without")
    parser.add_argument("--no-floor", dest="floor", action="store_false",
                        help="do not measure the bare bot (bench/bare_bot.py) alongside")
    parser.add_argument("--database-floor", action="store_true",
                        help="also measure the bare bot keeping the records "
                             "(bench/bare_bot.py with BARE_BOT_DATABASE_URL)")
    parser.add_argument("--web", choices=["production", "procfile"], default="production",
                        help="production: gunicorn as the README's production line "
                             "(--web-workers x --web-threads); procfile: the Procfile's "
                             "`web` command, as `make run` starts it")
    args = parser.parse_args()

    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
                       "CONN_MAX_AGE": "60",
                       "GRAPH_REDIRECT_THREADS": str(args.redirect_threads),
                       "GRAPH_NOTIFICATION_AUTH": "true" if args.notification_auth == "on"
                       else "false"})
    # An explicit DJANGO_SETTINGS_MODULE wins (e.g. one that adds a pending merge migration).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import psycopg

    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {DB}")
    admin.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    from tests.integration.harness import SandboxClient, free_port
    from tests.sandbox.process import start_sandbox, stop_sandbox

    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    os.environ["PUBLIC_URL"] = public_url

    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()

    from django.utils import timezone

    from forwarding.calltime import webhook_orgs
    from forwarding.models import CallRecord
    from forwarding.rules import services
    from portal import audit
    from portal.connections.selectors import bot_app_id
    from portal.models import Organization, Person

    CallsWorker = _calls_worker_class()  # noqa: N806 (a class)
    url, sandbox_proc = start_sandbox()
    sandbox = SandboxClient(url)
    worker = web = floor = database_floor = None
    try:
        sandbox.control("POST", "tokens", expect=201,
                        json={"token": "bench", "orgId": "bench-graph", "partnerFor": []})
        org = Organization.objects.create(
            name="Bench Teams", provider_kind="graph", provider_org_id="bench-graph",
            base_url=f"{url}/graph", credentials={"token": "bench"},
            graph_api_version=args.version, default_region="GB")
        actor = audit.Actor.system("bench")
        now = timezone.now()
        people = []
        for n in range(args.calls):
            person = Person.objects.create(
                org=org, display_name=f"Bench {n}", phone_number=f"+4420794{n:05d}",
                sip_uri=f"sip:bench{n}@bench.example", provider_person_id=f"bench-line-{n}")
            people.append(person)
            # A mix of what routing decides: nothing, always, simultaneous ring, a caller
            # rule (with always behind it) and a running time window.
            changes, rules = {}, None
            kind = n % 5
            if kind == 1:
                changes = {"always_enabled": True, "always_destination": f"+4420795{n:05d}"}
            elif kind == 2:
                changes = {"simring_enabled": True,
                           "simring_targets": [f"+4420796{n:05d}", f"+4420797{n:05d}"]}
            elif kind == 3:
                changes = {"always_enabled": True, "always_destination": f"+4420798{n:05d}"}
                rules = [{"callers": ["+14255550100"], "destination": f"+4420799{n:05d}"}]
            elif kind == 4:
                changes = {"window_enabled": True, "window_start": now - timedelta(hours=1),
                           "window_end": now + timedelta(hours=3),
                           "window_destination": f"+4420793{n:05d}"}
            if changes or rules:
                services.forwarding_update(person=person, changes=changes, caller_rules=rules,
                                           expected_version=1, actor=actor)
            sandbox.control("POST", "graph/lines", expect=201, json={
                "lineId": person.provider_person_id, "orgId": "bench-graph",
                "callbackUrl": public_url + webhook_orgs.webhook_path(org),
                "apiVersion": args.version, "identityType": "user",
                "displayName": person.display_name, "appId": bot_app_id(org)})

        def floor_line_set(wanted, prefix, label):
            """`--calls` lines of the sandbox whose notifications go to a floor's port."""
            lines, port = [], free_port()
            for n in range(args.calls if wanted else 0):
                lines.append(f"{prefix}-line-{n}")
                sandbox.control("POST", "graph/lines", expect=201, json={
                    "lineId": lines[-1], "orgId": "bench-graph",
                    "callbackUrl": f"http://127.0.0.1:{port}/notifications",
                    "apiVersion": args.version, "identityType": "user",
                    "displayName": f"{label} {n}", "appId": bot_app_id(org)})
            return lines, port

        floor_lines, floor_port = floor_line_set(args.floor, "floor", "Floor")
        database_lines, database_port = floor_line_set(args.database_floor, "database-floor",
                                                       "Database floor")

        # The sandbox signs every notification; the web processes check it with its keys.
        env = dict(os.environ,
                   GRAPH_NOTIFICATION_OPENID_CONFIG=sandbox.notification_openid_config)
        if args.web == "procfile":
            web = start_procfile_web(env, port)
        else:
            web = start_web(env, port, args.web_workers, args.web_threads)
        if args.floor:
            floor = start_web(dict(env, BARE_BOT_BASE_URL=f"{url}/graph", BARE_BOT_TOKEN="bench",
                                   BARE_BOT_THREADS=str(args.redirect_threads or 6)),
                              floor_port, args.web_workers, args.web_threads,
                              app="bare_bot:application",
                              extra=["--pythonpath", str(ROOT / "bench")], probe="/")
        if args.database_floor:
            from bare_bot import TABLES_SQL
            from django.db import connection as setup_connection

            with setup_connection.cursor() as cursor:
                cursor.execute(TABLES_SQL)
            database_floor = start_web(
                dict(env, BARE_BOT_BASE_URL=f"{url}/graph", BARE_BOT_TOKEN="bench",
                     BARE_BOT_THREADS=str(args.redirect_threads or 6),
                     BARE_BOT_DATABASE_URL=DATABASE_URL),
                database_port, args.web_workers, args.web_threads, app="bare_bot:application",
                extra=["--pythonpath", str(ROOT / "bench")], probe="/")
        worker = CallsWorker(env=env, name="benchcalls", queues="calls",
                             concurrency=args.concurrency, pool=args.pool).start()

        def one_round(lines):
            """Start every call at the same instant; return the sandbox's view of each."""
            started = sandbox.control("POST", "graph/calls/batch", expect=201, json={
                "calls": [{"lineId": line, "caller": "+14255550100"} for line in lines]}).json()
            ids = [call["id"] for call in started]
            # Poll gently: the bench must not steal the CPU of the road it measures.
            results = {}
            deadline = time.monotonic() + 30
            time.sleep(1.0)
            while len(results) < len(ids) and time.monotonic() < deadline:
                for body in sandbox.control("GET", "graph/calls", expect=200).json():
                    if body["id"] in ids and body["state"] == "terminated":
                        results[body["id"]] = body
                time.sleep(0.5)
            return [results.get(call_id) for call_id in ids]

        portal_lines = [p.provider_person_id for p in people]
        one_round(portal_lines)  # warm-up: connections, imports, caches
        if args.floor:
            one_round(floor_lines)
        if args.database_floor:
            one_round(database_lines)
        # Statistics for the planner, as autovacuum keeps them on a production database
        # (a fresh one without them, on a server running with autovacuum off, had every
        # follow-up's UPDATE scan all the org's calls through the org_id index instead of
        # using the unique (org, call id) one).
        from django.db import connection as bench_connection

        with bench_connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        processes = {"web (gunicorn)": web.pid, "calls worker": worker.proc.pid,
                     "sandbox": sandbox_proc.pid}
        if args.floor:
            processes["floor (bare bot)"] = floor.pid
        if args.database_floor:
            processes["floor with records"] = database_floor.pid
        cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        database_before = database_cpu_seconds()
        own_database = DatabaseBackends(DB)
        own_database.start()
        system_before = cpu_seconds(web.pid, which=(12,))
        web_children = Path(f"/proc/{web.pid}/task/{web.pid}/children").read_text().split()
        per_worker_before = [cpu_seconds(int(c)) for c in web_children]
        bench_before = time.process_time()
        measured_from = timezone.now()
        samples, floor_samples, portal_ms, failed, floor_failed = [], [], [], 0, 0
        sandbox_floor_cpu = 0.0
        database_samples, database_failed = [], 0
        def measured(lines):
            """One round: the redirect times of the calls answered, and how many were not."""
            answered, missed = [], 0
            for body in one_round(lines):
                if body is None or body["outcome"] != "answered" or \
                        body["notificationToRedirectMs"] is None:
                    missed += 1
                    continue
                answered.append(body["notificationToRedirectMs"])
            time.sleep(0.3)  # let the last follow-up notifications land
            return answered, missed

        for _ in range(args.rounds):
            answered, missed = measured(portal_lines)
            samples += answered
            failed += missed
            own_database.sample()
            if args.floor:
                before = cpu_seconds(sandbox_proc.pid)
                answered, missed = measured(floor_lines)
                floor_samples += answered
                floor_failed += missed
                sandbox_floor_cpu += cpu_seconds(sandbox_proc.pid) - before
            if args.database_floor:
                before = cpu_seconds(sandbox_proc.pid)
                answered, missed = measured(database_lines)
                database_samples += answered
                database_failed += missed
                sandbox_floor_cpu += cpu_seconds(sandbox_proc.pid) - before
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
        # The sandbox serves both: count only its share of the portal's rounds.
        cpu["sandbox"] -= sandbox_floor_cpu
        if args.floor or args.database_floor:
            cpu["sandbox in floor rounds"] = sandbox_floor_cpu
        cpu["bench itself"] = time.process_time() - bench_before
        if database_before is not None:
            cpu["PostgreSQL"] = database_cpu_seconds() - database_before
        own_database.sample()
        cpu["PostgreSQL (this database)"] = own_database.seconds()
        web_system = cpu_seconds(web.pid, which=(12,)) - system_before
        per_worker = [cpu_seconds(int(c)) - b for c, b in zip(web_children, per_worker_before,
                                                             strict=True)]
        portal_ms = list(CallRecord.objects.filter(latency_ms__isnull=False,
                                                   started_at__gte=measured_from)
                         .values_list("latency_ms", flat=True))
        if not samples:
            print("no call was redirected; worker log:\n" + worker.output()[-3000:])
            sys.exit(1)
        p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
        print(f"Graph {args.version}: {args.calls} concurrent calls x {args.rounds} rounds "
              f"(+1 warm-up), web: {args.web} "
              + (f"gunicorn {args.web_workers}x{args.web_threads} threads, "
                 if args.web == "production" else "(the Procfile's command), ")
              + (f"{args.redirect_threads} redirect threads per web process"
                 if args.redirect_threads else
                 f"redirects through the calls queue ({args.pool} x{args.concurrency})")
              + f", notification tokens checked: {args.notification_auth}")
        print(f"redirected               {len(samples):8d}   failed {failed}")
        print(f"notification->redirect   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   "
              f"max {max(samples):7.1f} ms   mean {statistics.fmean(samples):7.1f} ms")
        print(f"portal's own latency_ms  p50 {percentile(portal_ms, .5):7.1f} ms   "
              f"p99 {percentile(portal_ms, .99):7.1f} ms")
        ratio = None
        if floor_samples:
            f50, f99 = percentile(floor_samples, 0.50), percentile(floor_samples, 0.99)
            ratio = p99 / f99
            print(f"floor (bare bot)         p50 {f50:7.1f} ms   p99 {f99:7.1f} ms   "
                  f"max {max(floor_samples):7.1f} ms   failed {floor_failed}")
        if database_samples:
            d50, d99 = percentile(database_samples, 0.50), percentile(database_samples, 0.99)
            print(f"floor with records       p50 {d50:7.1f} ms   p99 {d99:7.1f} ms   "
                  f"max {max(database_samples):7.1f} ms   failed {database_failed}   "
                  f"(the portal's p99 is {p99 / d99:.2f} x its p99)")
        calls_made = args.calls * args.rounds
        print("CPU per call             " + "   ".join(
            f"{name} {seconds * 1000 / calls_made:.1f} ms" for name, seconds in cpu.items())
              + f"   (web in the kernel {web_system * 1000 / calls_made:.1f} ms)")
        print("CPU per web process      " + "   ".join(f"{s:.2f} s" for s in per_worker))
        if ratio is not None:
            print(f"target                   p99 <= {FLOOR_RATIO_TARGET:.0f} x the floor's: "
                  f"ratio {ratio:.2f} ({'met' if ratio <= FLOOR_RATIO_TARGET else 'NOT met'})")
        print(f"                         p99 / {TARGET_MS:.0f} ms: "
              f"{p99 / TARGET_MS:.2f}; Graph's deadline is 15000 ms")
        print(f"machine                  {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.2f}")
        if failed or (ratio is not None and ratio > FLOOR_RATIO_TARGET):
            sys.exit(1)
    finally:
        if worker is not None:
            worker.stop()
        stop(web)
        stop(floor)
        stop(database_floor)
        stop_sandbox(sandbox_proc)
        from django.db import connection

        connection.close()


if __name__ == "__main__":
    main()
