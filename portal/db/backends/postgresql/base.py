"""Django's PostgreSQL backend, with health checks only for connections that sat idle.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request
and every Celery task (portal/celery.py applies the same rule around tasks). On a busy
connection that is one round trip, and a statement of the server's CPU, per request:
the Graph webhook receives two to four requests per call. A connection used within the
last HEALTH_CHECK_IDLE_SECONDS is not checked again: if the server went away in that
moment, the query fails as it would have a moment later anyway, Django marks the
connection as broken and replaces it at the end of the request.
"""

import time

from django.db.backends.postgresql import base

HEALTH_CHECK_IDLE_SECONDS = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    _last_used = 0.0

    def close_if_health_check_failed(self):
        if (self.connection is not None and not self.health_check_done
                and time.monotonic() - self._last_used < HEALTH_CHECK_IDLE_SECONDS
                and not self.errors_occurred):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _cursor(self, name=None):
        cursor = super()._cursor(name)
        self._last_used = time.monotonic()
        return cursor
