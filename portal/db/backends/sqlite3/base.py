"""Django's SQLite backend (the zero-setup demo database) with the two PostgreSQL string
functions the models' expressions use: `split_part` and `regexp_replace`.

portal.models.tenancy.sip_line_key indexes a SIP URI's comparable form with them. SQLite
rebuilds a table for most schema changes and recreates every index of the model state on
the way, so without these functions any later migration that touches portal_person fails
on SQLite ("no such function: split_part"). Both are registered as deterministic, as
SQLite requires of a function used in an index, and behave like PostgreSQL's for the
arguments the portal passes (regexp_replace without flags replaces the first match).
"""

import re

from django.db.backends.sqlite3 import base


def _split_part(text, delimiter, field):
    if text is None or delimiter is None or field is None:
        return None
    if field < 1:
        raise ValueError("field position must be greater than zero")
    parts = text.split(delimiter) if delimiter else [text]
    return parts[field - 1] if field <= len(parts) else ""


def _regexp_replace(text, pattern, replacement):
    if text is None or pattern is None or replacement is None:
        return None
    return re.sub(pattern, replacement, text, count=1)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        conn.create_function("split_part", 3, _split_part, deterministic=True)
        conn.create_function("regexp_replace", 3, _regexp_replace, deterministic=True)
        return conn
