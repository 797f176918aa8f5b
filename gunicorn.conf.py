"""gunicorn's settings for the portal, read by `gunicorn portal.wsgi` from the working
directory (the repository's root): `make run` (the Procfile's `web`) and production start
the same server, sized for the machine; anything on the command line wins.

- gthread workers, one process more than CPUs, 6 threads each (WEB_CONCURRENCY,
  WEB_THREADS): a request mostly waits on PostgreSQL, and a process whose threads wait
  for the GIL leaves the CPU to another process (measured on 2 CPUs with
  bench/graph_latency.py: 3 x 6 beat 2 x 8 and 4 x 4);
- listening on WEB_BIND, by default 127.0.0.1:8000 (honcho's $PORT is not used, so that
  `make run` serves where it says);
- a stop waits at most WEB_GRACEFUL_TIMEOUT seconds (default 10) for requests in flight,
  so Ctrl-C on `make run` stops everything promptly.

The access log, when turned on (--access-logfile), prints every request line, and the
Graph webhook's path carries the org's secret key: each field of the line goes through
portal.logredact first. Django's own log lines are redacted by settings.LOGGING.
"""

import os

from gunicorn.glogging import Logger

from portal.logredact import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        return {name: redact(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = RedactingLogger


bind = [os.environ.get("WEB_BIND", "127.0.0.1:8000")]
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("WEB_THREADS", 6))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", 10))
# Browsers keep their connection between a page and its static files.
keepalive = 5
