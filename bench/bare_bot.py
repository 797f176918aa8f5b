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
"""

from __future__ import annotations

import json
import os
import sys
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


def _executor() -> ThreadPoolExecutor:
    """This process's redirect threads (made after gunicorn's fork, like the portal's)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="bare-redirect"))
    return _pool[1]


def _redirect(notification):
    try:
        graph.redirect(CONNECTION, graph.RedirectRequest(
            call_id=notification.call_id, api_version=notification.api_version,
            targets=(TARGET,)))
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
        if notification.state == "incoming":
            _executor().submit(_redirect, notification)
    start_response("202 Accepted", [("Content-Length", "0")])
    return [b""]
