"""Django's PostgreSQL backend, with health checks only for connections that sat idle, and
prepared statements for the hot paths' hand-written SQL.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request
and every Celery task (portal/celery.py applies the same rule around tasks). On a busy
connection that is one round trip, and a statement of the server's CPU, per request:
the Graph webhook receives two to four requests per call. A connection used within the
last HEALTH_CHECK_IDLE_SECONDS is not checked again: if the server went away in that
moment, the query fails as it would have a moment later anyway, Django marks the
connection as broken and replaces it at the end of the request.

`prepared_cursor()` is `cursor()` for statements that run thousands of times with the
same text (the Graph bot's call path, portal.rowsets): binding on the server, and each
statement prepared on the connection the first time it runs, so that PostgreSQL parses
and plans it once per connection instead of on every call. Measured on the call's INSERT
(a 4 kB `WITH ... INSERT ... RETURNING` joining six tables): about 2.3 ms of the server's
CPU per execution unprepared, 0.6 ms prepared (its plan is the same for every call), and
less client CPU too (no quoting of 29 parameters into the text). Every other query keeps
Django's client-side binding: the ORM's SQL is not written to be prepared (Django
#20516). Prepared statements need the server session to outlive a statement, which a
connection pooler in transaction mode older than PgBouncer 1.21 breaks: there set
DATABASE_PREPARED_STATEMENTS=false (settings), and this is `cursor()` again.

Those statements are also converted (`%s` placeholders to `$1`, the parameters' formats)
once per process: psycopg caches that conversion only for statements under 4 kB and 50
parameters, and the call's INSERT is longer, so psycopg converted its text again on
every call, a tenth of the web process's time under a burst of Graph calls
(bench/graph_latency.py, py-spy --gil). The prepared statements are a fixed handful
built once per process, so a small cache of them cannot grow with the data.
"""

import time
from functools import lru_cache

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3

if is_psycopg3:
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg import _queries
    from psycopg.pq import Format

    @lru_cache(maxsize=64)
    def _converted(query: bytes, encoding: str):
        # psycopg's own converter without its size limits. Private API (psycopg is held
        # below 4 in pyproject.toml): tests/calltime/test_prepared_statements.py fails
        # if it moves.
        return _queries._query2pg_nocache(query, encoding)

    class PreparedStatementQuery(_queries.PostgresQuery):
        """psycopg's query conversion, remembered per statement text whatever its length
        (only prepared_cursor()'s statements come here)."""

        __slots__ = ()

        def convert(self, query, vars):
            if vars is None or not isinstance(query, (str, bytes)):
                return super().convert(query, vars)
            (self.query, self._want_formats, self._order,
             self._parts) = _converted(self._ensure_bytes(query), self._tx.encoding)
            self.dump(vars)
            return None

    class PreparingCursor(base.ServerBindingCursor):
        """Server-side binding; every statement is prepared when first executed (psycopg
        keeps the connection's prepared statements, at most `prepared_max`), and its
        conversion is remembered (PreparedStatementQuery)."""

        _query_cls = PreparedStatementQuery

        def execute(self, query, params=None, *, prepare=True, **kwargs):
            return super().execute(query, params, prepare=prepare, **kwargs)

HEALTH_CHECK_IDLE_SECONDS = 5.0


class DatabaseOperations(base.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # Django reads a client-side binding cursor's text; a prepared statement's is
        # the statement with $1, $2...: logged (DEBUG, tests) with its values instead.
        if is_psycopg3 and isinstance(cursor, PreparingCursor):
            try:
                return self.compose_sql(sql, params)
            except Exception:  # a log line must not fail the statement it describes
                return sql
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    _last_used = 0.0
    _preparing = False

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

    @property
    def prepares_statements(self) -> bool:
        """Whether prepared_cursor() prepares (psycopg 3 and a prepare_threshold in
        OPTIONS: Django turns prepared statements off without one)."""
        return is_psycopg3 and self.settings_dict["OPTIONS"].get("prepare_threshold") is not None

    def prepared_cursor(self):
        """cursor() (connection set-up, health check, error translation, query logging
        and execute wrappers included), whose statements are prepared on the server."""
        if not self.prepares_statements:
            return self.cursor()
        self._preparing = True
        try:
            return self.cursor()
        finally:
            self._preparing = False

    def create_cursor(self, name=None):
        if not self._preparing or name:
            return super().create_cursor(name)
        cursor = PreparingCursor(self.connection)
        # As Django's own cursors: a connection whose time zone differs gets its loader.
        tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
        if self.timezone != tzloader.timezone:
            register_tzloader(self.timezone, cursor)
        return cursor
