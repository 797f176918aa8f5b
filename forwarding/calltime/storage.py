"""Model instances from one hand-written SELECT over several tables, and an INSERT that
does nothing when the row exists.

For the Graph bot's hot path only: Django compiles a four-table select_related query in
about 1.4 ms of CPU and a 29-column INSERT in about 1 ms, and Graph's deadline is shared
by every call ringing at once (see bench/graph_latency.py). The column lists and
converters come from the models' own metadata (a new field is included without editing
anything); rows become instances through the documented `Model.from_db`, and values are
prepared with each field's own `get_db_prep_save`, so conversions (JSON, encrypted
credentials, SQLite's dates) are exactly the ORM's.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connections


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


@lru_cache(maxsize=32)
def part(model, alias: str, using: str = "default") -> Part:
    return Part(model, alias, using)


class Sql:
    """A column's value computed by the database: an SQL fragment and its parameters."""

    def __init__(self, sql: str, params=()):
        self.sql = sql
        self.params = list(params)


def insert_unless_exists(model, values: dict, using: str = "default"):
    """INSERT one row (every other field takes its default, prepared as the ORM would)
    unless it would break a unique constraint; return its primary key, or None when a
    row with the same unique values exists. One statement, no savepoint: PostgreSQL's
    and SQLite's `ON CONFLICT DO NOTHING ... RETURNING`."""
    connection = connections[using]
    q = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(values) - {f.name for f in fields} - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    columns, placeholders, params = [], [], []
    for field in fields:
        value = values.get(field.name, values.get(field.attname, field.get_default()))
        columns.append(q(field.column))
        if isinstance(value, Sql):
            placeholders.append(f"({value.sql})")
            params.extend(value.params)
        else:
            if hasattr(value, "pk") and field.is_relation:
                value = value.pk
            placeholders.append("%s")
            params.append(field.get_db_prep_save(value, connection))
    pk = q(model._meta.pk.column)
    sql = (f"INSERT INTO {q(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
           f"VALUES ({', '.join(placeholders)}) ON CONFLICT DO NOTHING RETURNING {pk}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def fetch_one(sql: str, params, parts: list[Part]):
    """Run `sql`, whose SELECT list is the parts' columns in order and then any extra
    values; return ([an instance or None per part], [the extra values]) for its first
    row, or None when there is no row."""
    with connections[parts[0].using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    out, start = [], 0
    for each in parts:
        out.append(each.instance(row[start:start + len(each)]))
        start += len(each)
    return out, list(row[start:])
