"""Saving many model rows, each with its own values, in one statement.

Django's `bulk_update` builds a CASE WHEN expression per field per row: for a chunk of
a few hundred rows and a handful of fields that is tens of thousands of expression
objects, about 2 ms of CPU a row, more than the rest of saving it. On PostgreSQL
`update_rows` sends one `UPDATE ... FROM (VALUES ...)` instead, each value cast to its
column's type; elsewhere (the zero-setup SQLite demo) it falls back to `bulk_update`.
"""

from __future__ import annotations

from django.db import connection

# Rows per statement: well under PostgreSQL's 65,535 parameters for any of our models.
BATCH = 500


def update_rows(model, objs, fields) -> None:
    """Write `fields` of every object in `objs` (saved rows of `model`) as they are on
    the objects; like `model.objects.bulk_update(objs, fields)`, auto_now included
    (none: set such fields yourself)."""
    objs = list(objs)
    if not objs or not fields:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    pk = meta.pk
    names = [pk.column, *(f.column for f in columns)]
    casts = [pk.cast_db_type(connection), *(f.cast_db_type(connection) for f in columns)]
    row_sql = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            batch = objs[start:start + BATCH]
            params = []
            for obj in batch:
                params.append(pk.get_db_prep_save(obj.pk, connection))
                params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection)
                              for f in columns)
            # Only names from the model's meta and %s placeholders go into the text.
            sql = (f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
                   f"FROM (VALUES {', '.join([row_sql] * len(batch))}) "
                   f"AS v({', '.join(quote(n) for n in names)}) "
                   f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}")
            cursor.execute(sql, params)
