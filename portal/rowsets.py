"""Saving many model rows, each with its own values, in one statement.

Django's `bulk_update` builds a CASE WHEN expression per field per row: for a chunk of
a few hundred rows and a handful of fields that is tens of thousands of expression
objects, about 2 ms of CPU a row, more than the rest of saving it. Its `bulk_create`
passes one array per column, which the driver quotes element by element in Python
(Django binds parameters on the client): for a chunk of audit rows, each carrying two
snapshots of a person's settings, that was 1.5 ms a row. On PostgreSQL `update_rows`
and `insert_rows` send the rows as ONE parameter instead, a JSON array of objects
(encoded by the json module in C, escaped once by libpq), which PostgreSQL turns back
into typed rows with `jsonb_to_recordset`; the statement's text depends only on the
model and the fields, so the driver parses it once per shape. Elsewhere (the zero-setup
SQLite demo) they fall back to `bulk_update` and `bulk_create`.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import json
import uuid
from functools import lru_cache

from django.db import connection, connections
from django.db.models import JSONField


def json_default(value):
    # Full precision: DjangoJSONEncoder would cut datetimes to milliseconds.
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | ipaddress.IPv4Address
                  | ipaddress.IPv6Address | ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Columns whose Python value is already what the database is given (a foreign key's
# attname holds the id; an aware datetime is encoded by json_default): preparing them
# through the field, 10 us each, was a third of the cost of a chunk's statements.
_AS_IS = frozenset({
    "AutoField", "BigAutoField", "SmallAutoField", "BigIntegerField", "IntegerField",
    "SmallIntegerField", "PositiveBigIntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "BooleanField", "CharField", "TextField", "EmailField",
    "SlugField", "URLField", "ForeignKey", "OneToOneField", "DateTimeField",
})


def _preparer(field):
    """How a field's Python value becomes a JSON value: a JSON column's own value,
    nested; a plain one as it is; any other as the database adapter would be given it."""
    if isinstance(field, JSONField) or field.get_internal_type() in _AS_IS:
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _rows_json(objs, fields) -> str:
    preparers = [(f.column, f.attname, _preparer(f)) for f in fields]
    rows = []
    for obj in objs:
        row = {}
        for column, attname, prepare in preparers:
            value = getattr(obj, attname)
            row[column] = value if prepare is None else prepare(value)
        rows.append(row)
    return json.dumps(rows, default=json_default, separators=(",", ":"))


def _record_type(fields) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{quote(f.column)} {f.cast_db_type(connection)}" for f in fields)


@lru_cache(maxsize=64)
def _update_sql(model, names: tuple) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in names]
    pk = meta.pk
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    # Only names and types from the model's meta go into the text; the rows are a parameter.
    return (f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
            f"FROM jsonb_to_recordset(%s::jsonb) AS v({_record_type([pk, *columns])}) "
            f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}")


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
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    with statement_cursor() as cursor:
        cursor.execute(_update_sql(model, tuple(fields)), [_rows_json(objs, columns)])


@lru_cache(maxsize=64)
def _insert_sql(model) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    names = ", ".join(quote(f.column) for f in fields)
    # The rows are inserted, and their ids returned, in the order of the JSON array.
    return (f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT {names} FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) "
            f"AS ({_record_type(fields)})) WITH ORDINALITY AS v({names}, _n) ORDER BY _n "
            f"RETURNING {quote(meta.pk.column)}")


def insert_rows(model, objs) -> list:
    """INSERT the (unsaved) objects of `model` in one statement and set their primary
    keys; like `model.objects.bulk_create(objs)` for a model with a serial primary key,
    auto_now and auto_now_add included. No signals are sent (nor by bulk_create)."""
    objs = list(objs)
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    for obj in objs:
        for field in fields:
            field.pre_save(obj, add=True)  # auto_now_add, auto_now: set on the object
    with statement_cursor() as cursor:
        cursor.execute(_insert_sql(model), [_rows_json(objs, fields)])
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


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
    return None if row is None else _split(row, parts)


def fetch_all(sql: str, params, parts: list[Part], *, prepared: bool = False) -> list:
    """`fetch_one` for every row of the result."""
    using = parts[0].using
    with (statement_cursor(using) if prepared else connections[using].cursor()) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_split(row, parts) for row in rows]


def _split(row, parts):
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
