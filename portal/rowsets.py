"""Saving many model rows, each with its own values, in one statement.

Django's `bulk_update` builds a CASE WHEN expression per field per row: for a chunk of
a few hundred rows and a handful of fields that is tens of thousands of expression
objects, about 2 ms of CPU a row, more than the rest of saving it. On PostgreSQL
`update_rows` sends one `UPDATE ... FROM (VALUES ...)` instead, each value cast to its
column's type; elsewhere (the zero-setup SQLite demo) it falls back to `bulk_update`.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection, connections

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


# --- rows read and written by hand-written statements (hot paths) -------------------------
# Django compiles a select_related query over several tables in about a millisecond of
# CPU; the Graph bot's redirect (forwarding.calltime.storage) and a push
# (forwarding.sync.claims) build their statements once per process from the models'
# metadata and turn rows into instances with the documented Model.from_db.


class Part:
    """One model's columns in the SELECT, under a table alias."""

    def __init__(self, model, alias: str, using: str):
        self.model = model
        self.alias = alias
        self.using = using
        connection = connections[using]
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        self.columns = ", ".join(
            f"{connection.ops.quote_name(alias)}.{connection.ops.quote_name(f.column)}"
            for f in fields)
        self.table = f"{connection.ops.quote_name(model._meta.db_table)} " \
                     f"{connection.ops.quote_name(alias)}"
        self.converters = []
        for index, field in enumerate(fields):
            col = field.get_col(alias)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((index, col, found))

    def __len__(self):
        return len(self.attnames)

    def instance(self, values):
        """The model instance of these values, or None when the row had no match (a
        LEFT JOIN that found nothing: its primary key is NULL)."""
        values = list(values)
        if values[self.attnames.index(self.model._meta.pk.attname)] is None:
            return None
        connection = connections[self.using]
        for index, col, converters in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, col, connection)
            values[index] = value
        return self.model.from_db(self.using, self.attnames, values)


def statement_cursor(using: str = "default"):
    """A cursor for a statement that runs again and again with the same text: prepared on
    the server, parsed and planned once per connection (PostgreSQL's
    portal.db.backends.postgresql.prepared_cursor); Django's own cursor elsewhere."""
    connection = connections[using]
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


@lru_cache(maxsize=32)
def part(model, alias: str, using: str = "default") -> Part:
    return Part(model, alias, using)


def fetch_one(sql: str, params, parts: list[Part], *, prepared: bool = False):
    """Run `sql`, whose SELECT list is the parts' columns in order and then any extra
    values; return ([an instance or None per part], [the extra values]) for its first
    row, or None when there is no row. `prepared`: through statement_cursor."""
    using = parts[0].using
    with (statement_cursor(using) if prepared else connections[using].cursor()) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    out, start = [], 0
    for each in parts:
        out.append(each.instance(row[start:start + len(each)]))
        start += len(each)
    return out, list(row[start:])


@lru_cache(maxsize=64)
def update_sql(model, where: tuple, names: tuple, using: str):
    connection = connections[using]
    q = connection.ops.quote_name
    meta = model._meta
    sets = ", ".join(f"{q(meta.get_field(name).column)} = %s" for name in names)
    conditions = " AND ".join(f"{q(meta.get_field(name).column)} = %s"
                              for name in (meta.pk.name, *where))
    # Only names from the model's metadata are interpolated; the values are parameters.
    return f"UPDATE {q(meta.db_table)} SET {sets} WHERE {conditions}"  # noqa: S608


def update_where(model, pk, *, where: dict, values: dict, using: str = "default",
                 prepared: bool = False) -> int:
    """UPDATE the row `pk` of `model` while its fields hold the values of `where`; set
    `values` (instances for foreign keys), each prepared as the ORM prepares it. The
    number of rows changed (0 or 1). QuerySet.update compiles the same statement in
    about 0.5 ms of CPU per call; this builds it once per shape. `prepared`: through
    statement_cursor."""
    connection = connections[using]
    meta = model._meta
    params = []
    for name, value in values.items():
        field = meta.get_field(name)
        if field.is_relation and hasattr(value, "pk"):
            value = value.pk
        params.append(field.get_db_prep_save(value, connection))
    params.append(pk)
    params.extend(meta.get_field(name).get_db_prep_save(value, connection)
                  for name, value in where.items())
    with (statement_cursor(using) if prepared else connection.cursor()) as cursor:
        cursor.execute(update_sql(model, tuple(where), tuple(values), using), params)
        return cursor.rowcount
