"""The floor of the Graph bench: a bare bot with no database, no Django and one fixed target.

    gunicorn --pythonpath bench bare_bot:application -k gthread ...
    (started by bench/graph_latency.py, which sets the variables below)

It stands on the same HTTP stack as the portal's bot, so that what the portal adds on top
(the org lookup, the token check, the call record, routing, the audit row) is what the
ratio measures: gunicorn's gthread workers take the notification, providers.graph parses
it, a small pool of threads in the process POSTs the redirect with providers.graph (the
same requests session factory, timeouts and body) to BARE_BOT_BASE_URL, ringing
BARE_BOT_TARGET whoever is called. Follow-up notifications are parsed and dropped.

Nothing here checks the notification's bearer token: a floor is what no bot can go below.

With BARE_BOT_DATABASE_URL (graph_latency.py --database-floor), it also keeps records as
the portal does, at the least SQL cost: the second reference of the bench.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers import graph  # noqa: E402 (after the path)
from providers.base import Connection  # noqa: E402

CONNECTION = Connection(base_url=os.environ.get("BARE_BOT_BASE_URL", ""),
                        token=os.environ.get("BARE_BOT_TOKEN", ""),
                        options={"timeout": graph.REDIRECT_TIMEOUT})
TARGET = graph.target_for(os.environ.get("BARE_BOT_TARGET", "+442079400000"))
THREADS = int(os.environ.get("BARE_BOT_THREADS", "6"))

_pool: tuple[int, ThreadPoolExecutor] | None = None

# With BARE_BOT_DATABASE_URL, the floor also keeps the portal's promises at their least SQL
# cost (a "database floor"): each incoming call is INSERTed before its redirect is
# queued (the row recovery would find), claimed with its decision before the POST, and
# its outcome written with an audit row in one statement after it; each follow-up is one
# UPDATE. Plain psycopg, one connection per thread, every statement prepared.
DATABASE_URL = os.environ.get("BARE_BOT_DATABASE_URL", "")
TABLES_SQL = """
CREATE TABLE IF NOT EXISTS bare_bot_call (
  id bigserial PRIMARY KEY, call_id text NOT NULL UNIQUE, line_id text NOT NULL,
  state text NOT NULL, status text NOT NULL, started_at timestamptz NOT NULL,
  target text NOT NULL DEFAULT '', outcome_status int, redirected_at timestamptz,
  notifications jsonb NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS bare_bot_audit (
  id bigserial PRIMARY KEY, call_id bigint NOT NULL, event text NOT NULL,
  at timestamptz NOT NULL, data jsonb NOT NULL);
"""
_local = threading.local()


def _db():
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or getattr(_local, "pid", None) != os.getpid():
        import psycopg

        conn = _local.conn = psycopg.connect(DATABASE_URL, autocommit=True,
                                             prepare_threshold=0)
        _local.pid = os.getpid()
    return conn


def _executor() -> ThreadPoolExecutor:
    """This process's redirect threads (made after gunicorn's fork, like the portal's)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="bare-redirect"))
    return _pool[1]


def _redirect(notification, record_id=None):
    try:
        if record_id is not None:
            _db().execute("UPDATE bare_bot_call SET status = 'sending', target = %s "
                          "WHERE id = %s AND status = 'pending'", (TARGET.id, record_id))
        result = graph.redirect(CONNECTION, graph.RedirectRequest(
            call_id=notification.call_id, api_version=notification.api_version,
            targets=(TARGET,)))
        if record_id is not None:
            _db().execute(
                "WITH c AS (UPDATE bare_bot_call SET status = 'redirected', "
                "outcome_status = %s, redirected_at = now() WHERE id = %s "
                "AND status = 'sending' RETURNING id) INSERT INTO bare_bot_audit "
                "(call_id, event, at, data) SELECT id, 'call.redirected', now(), %s::jsonb "
                "FROM c", (result.status_code, record_id,
                           json.dumps({"status": result.status_code, "target": TARGET.id})))
    except Exception as exc:  # a floor has nobody to tell but its log
        print(f"bare bot: redirect of {notification.call_id} failed: {exc}", file=sys.stderr)


def application(environ, start_response):
    if environ["REQUEST_METHOD"] == "GET":  # the bench's readiness probe
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        notifications = graph.parse_notifications(json.loads(environ["wsgi.input"].read(length)))
    except (ValueError, graph.NotificationError):
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"bad notification"]
    for notification in notifications:
        if DATABASE_URL:
            if notification.state == "incoming":
                row = _db().execute(
                    "INSERT INTO bare_bot_call (call_id, line_id, state, status, started_at, "
                    "notifications) VALUES (%s, %s, 'incoming', 'pending', now(), %s::jsonb) "
                    "ON CONFLICT DO NOTHING RETURNING id",
                    (notification.call_id, notification.line.id if notification.line else "",
                     json.dumps([notification.key]))).fetchone()
                if row:
                    _executor().submit(_redirect, notification, row[0])
            else:
                _db().execute(
                    "UPDATE bare_bot_call SET state = %s, notifications = notifications || "
                    "%s::jsonb WHERE call_id = %s",
                    (notification.state, json.dumps([notification.key]),
                     notification.call_id))
        elif notification.state == "incoming":
            _executor().submit(_redirect, notification)
    start_response("202 Accepted", [("Content-Length", "0")])
    return [b""]
