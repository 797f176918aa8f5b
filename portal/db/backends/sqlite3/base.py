"""Django's SQLite backend (the zero-setup demo database) with the two PostgreSQL string
functions the person table's SIP index uses: split_part and regexp_replace (first match).

portal.models.tenancy.sip_line_key indexes an expression over them. Migration 0004 leaves
that index out on SQLite, but the migration state has it, and SQLite alters a table by
copying it and creating every index of the state again (any later AddField on Person, e.g.
0008's time zone): without these functions that stops `migrate`, and `make run` on a
fresh clone with it. Registered as deterministic, which SQLite requires of functions in
an index.
"""

import re

from django.db.backends.sqlite3 import base


def split_part(value, delimiter, field):
    """PostgreSQL's split_part: the `field`-th (from 1) piece of `value`, '' past the end."""
    if value is None or delimiter is None or field is None:
        return None
    parts = value.split(delimiter) if delimiter else [value]
    return parts[field - 1] if 0 < field <= len(parts) else ""


def regexp_replace(value, pattern, replacement):
    """PostgreSQL's regexp_replace without flags: the first match only."""
    if value is None or pattern is None or replacement is None:
        return None
    return re.sub(pattern, lambda _match: replacement, value, count=1)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        conn.create_function("split_part", 3, split_part, deterministic=True)
        conn.create_function("regexp_replace", 3, regexp_replace, deterministic=True)
        return conn
