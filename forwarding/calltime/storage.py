"""Every hand-written SQL statement of the Graph bot's hot path, and the helpers they
stand on: model instances from one SELECT over several tables, and an INSERT that does
nothing when the row exists.

On PostgreSQL a call costs the web process these statements: the new call's INSERT,
which also finds the called person and, from the row it inserted, reads everything the
redirect needs (org with its provider connection, person, settings with their caller
rules, the caller: one `WITH ... INSERT ... RETURNING` whose answer goes to this
process's redirect thread);
the claim UPDATE with the decision; the outcome UPDATE with its audit row (one `WITH ...
UPDATE ... RETURNING` feeding an `INSERT ... SELECT`: no BEGIN/COMMIT round trips); and
each follow-up's UPDATE. Plus the directory's lookup when the call rings a colleague
(remembered a few seconds: forwarding.calltime.directory_cache). A redirect that starts
from the id alone (the calls queue's worker: overflow, retry, recovery) reads the same
row with one SELECT.
On SQLite (the demo), which has no data-modifying WITH, the INSERT returns the id and
the outcome and its audit row are two statements in a transaction.
Django compiles a four-table select_related query in about 1.4 ms of CPU and a 29-column
INSERT in about 1 ms, and Graph's deadline is shared by every call ringing at once (see
bench/graph_latency.py). The column lists and converters come from the models' own
metadata (a new field is included without editing anything); rows become instances
through the documented `Model.from_db`, and values are prepared with each field's own
`get_db_prep_save`, so conversions (JSON, encrypted credentials, SQLite's dates) are
exactly the ORM's. On PostgreSQL each of these statements is prepared on the server
the first time a connection runs it (portal.rowsets.statement_cursor): parsing and
planning the INSERT cost the server about three times what running it does. Standard
SQL but for the follow-up's JSON append, which PostgreSQL and
SQLite (the demo) spell differently; tests/calltime/test_calls_sqlite.py runs every
statement here on SQLite.
"""

from __future__ import annotations

import json
from functools import lru_cache

from django.db import connections, transaction
from django.db.models import JSONField, prefetch_related_objects

from forwarding.models import CallerRule, CallRecord, ForwardingSettings
from portal.models import AuditEvent, Organization, Person, ProviderConnection
from portal.rowsets import fetch_one, part, statement_cursor, update_sql, update_where


class Sql:
    """A column's value computed by the database: an SQL fragment and its parameters."""

    def __init__(self, sql: str, params=()):
        self.sql = sql
        self.params = list(params)


def _insert_values(model, values: dict, using: str):
    """The column list, VALUES list and parameters of an INSERT of one row of `model`:
    `values`, and every other field's default prepared as the ORM would."""
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
    return ", ".join(columns), ", ".join(placeholders), params


def insert_unless_exists(model, values: dict, using: str = "default"):
    """INSERT one row (every other field takes its default, prepared as the ORM would)
    unless it would break a unique constraint; return its primary key, or None when a
    row with the same unique values exists. One statement, no savepoint: PostgreSQL's
    and SQLite's `ON CONFLICT DO NOTHING ... RETURNING`."""
    connection = connections[using]
    q = connection.ops.quote_name
    columns, placeholders, params = _insert_values(model, values, using)
    pk = q(model._meta.pk.column)
    sql = (f"INSERT INTO {q(model._meta.db_table)} ({columns}) "  # noqa: S608
           f"VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING {pk}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def update_call(record_id, *, expected: str, **values) -> int:
    """A call record's UPDATE while its redirect is in state `expected` (a claim: only
    one thread or worker moves it on)."""
    return update_where(CallRecord, record_id, where={"redirect_status": expected},
                        values=values, using=CallRecord.objects.db, prepared=True)


# --- the call path's statements ------------------------------------------------------------------


@lru_cache(maxsize=4)
def _person_by_line_sql(using):
    q = connections[using].ops.quote_name
    people = Person._meta
    # Only names from the models' metadata are interpolated; the values are parameters.
    return (f"SELECT id FROM {q(people.db_table)} WHERE "  # noqa: S608 (names only)
            f"{q(people.get_field('org').column)} = %s AND "
            f"{q(people.get_field('provider_person_id').column)} = %s ORDER BY id LIMIT 1")


def insert_call_record(values: dict):
    """INSERT a new call's CallRecord from `values` (its org, call id, line id, ...) unless
    the org has a record of that call id already; return the new record as
    load_for_redirect loads it (PostgreSQL), its id (elsewhere), or None. The called
    person (the org's person whose provider person id is the line id) is found by the
    INSERT itself: one statement, and the unique (org, call id) decides a race.

    On PostgreSQL the same statement reads what the redirect needs (org, person, their
    settings, the caller) from the row it inserts, so that the redirect thread of this
    process starts without a SELECT of its own."""
    using = CallRecord.objects.db
    connection = connections[using]
    person = Sql(_person_by_line_sql(using), [values["org"].pk, values["line_id"]])
    values = {**values, "person_id": person}
    if connection.vendor != "postgresql":
        return insert_unless_exists(CallRecord, values, using=using)
    q = connection.ops.quote_name
    columns, placeholders, params = _insert_values(CallRecord, values, using)
    select, joins, parts = _redirect_select(using)
    # Only names from the models' metadata are interpolated; the values are parameters.
    sql = (f"WITH r AS (INSERT INTO {q(CallRecord._meta.db_table)} ({columns}) "  # noqa: S608
           f"VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING *) "
           f"SELECT {select} FROM r {joins}")
    found = fetch_one(sql, params, parts, prepared=True)
    return None if found is None else _loaded(found)


class Answer:
    """Who answered a call, as a follow-up records it: `value` ("user:<id>", "phone:+1..."),
    and the label shown unless a person of the org has `match_value` in `match_field`
    (then their display name)."""

    MATCH_FIELDS = ("provider_person_id", "phone_number")

    def __init__(self, value: str, label: str, match_field: str, match_value: str):
        if match_field not in self.MATCH_FIELDS:
            # A column name is interpolated into the UPDATE: only these two, ever.
            raise ValueError(f"cannot match who answered by {match_field!r}")
        self.value = value
        self.label = label
        self.match_field = match_field
        self.match_value = match_value


def apply_follow_up(*, org_id, call_id, state: str, key: str, earlier: list[str], now,
                    ending: bool, reason: str, answer: Answer | None) -> bool:
    """A follow-up's UPDATE of the call's record, applied only while the record's state is
    one of `earlier`; True when it changed the row. Written as SQL: every call sends one
    or more follow-ups while other calls wait for their redirect, and building this
    statement (CASE, a sub-select, a JSON append) through the ORM cost about a quarter of
    the web process's CPU under a burst of calls (bench/graph_latency.py, py-spy --gil).

    Every SET expression sees the row as it was, so `answered_by = ''` below means
    "nobody was recorded as answering yet" for both columns."""
    connection = connections[CallRecord.objects.db]
    table = connection.ops.quote_name(CallRecord._meta.db_table)
    people = connection.ops.quote_name(Person._meta.db_table)
    if connection.vendor == "postgresql":
        append = "notifications || %s::jsonb"
    else:
        append = "json_insert(notifications, '$[#]', json_extract(%s, '$[0]'))"
    if answer is None:
        answer = Answer("", "", "provider_person_id", "")
    match_column = connection.ops.quote_name(Person._meta.get_field(answer.match_field).column)
    adapt = connection.ops.adapt_datetimefield_value
    # Only names and placeholders are interpolated; every value is a parameter.
    sql = f"""
        UPDATE {table} SET
          state = %s,
          notifications = {append},
          ended_at = CASE WHEN %s THEN COALESCE(ended_at, %s) ELSE ended_at END,
          answered_by = CASE WHEN %s <> '' AND answered_by = '' THEN %s
                             ELSE answered_by END,
          answered_by_label = CASE WHEN %s <> '' AND answered_by = '' THEN COALESCE(
              (SELECT display_name FROM {people} WHERE org_id = %s AND {match_column} = %s
               ORDER BY id LIMIT 1), %s) ELSE answered_by_label END,
          termination_reason = CASE WHEN %s <> '' THEN %s ELSE termination_reason END
        WHERE org_id = %s AND provider_call_id = %s
          AND state IN ({", ".join(["%s"] * len(earlier))})"""  # noqa: S608
    params = [
        state,
        json.dumps([key]),
        ending, adapt(now),
        answer.value, answer.value,
        answer.value, org_id, answer.match_value, answer.label,
        reason, reason,
        org_id, call_id, *earlier,
    ]
    with statement_cursor(CallRecord.objects.db) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount > 0


@lru_cache(maxsize=4)
def _redirect_select(using):
    """The SELECT list and joins of a call about to be redirected, over a row source `r`
    (the call records table, or the INSERT's RETURNING in insert_and_load), and its parts
    (built once per process): call, org (with its provider connection, for the token),
    called person, their settings and caller rules, and the caller when
    they are a Teams user of the org (routing matches a rule against their lines)."""
    connection = connections[using]
    q = connection.ops.quote_name
    r, o, p, f, c, k = (part(CallRecord, "r", using), part(Organization, "o", using),
                        part(Person, "p", using), part(ForwardingSettings, "f", using),
                        part(ProviderConnection, "c", using), part(Person, "k", using))
    rules = CallerRule._meta
    column = {name: q(CallRecord._meta.get_field(name).column)
              for name in ("org", "person", "caller_kind", "caller_id")}
    people = Person._meta
    people_table = q(people.db_table)
    person_org = q(people.get_field("org").column)
    line_id = q(people.get_field("provider_person_id").column)
    settings_fk = q(rules.get_field("settings").column)
    person_fk = q(ForwardingSettings._meta.get_field("person").column)
    connection_fk = q(ProviderConnection._meta.get_field("org").column)
    # Only names from the models' metadata are interpolated; the values are parameters.
    if connection.vendor == "postgresql":
        # The caller rules as one JSON array of rows, in the model's order (by position).
        position = q(rules.get_field("position").column)
        caller_rules = (f"(SELECT json_agg(cr ORDER BY cr.{position}) "  # noqa: S608
                        f"FROM {q(rules.db_table)} cr WHERE cr.{settings_fk} = f.id)")
    else:
        # SQLite (the demo): whether there are any; _loaded then reads them.
        caller_rules = (f"EXISTS (SELECT 1 FROM {q(rules.db_table)} cr "  # noqa: S608
                        f"WHERE cr.{settings_fk} = f.id)")
    columns = f"""{r.columns}, {o.columns}, {p.columns}, {f.columns}, {c.columns}, {k.columns},
               {caller_rules}
    """  # noqa: S608
    joins = f"""
        JOIN {o.table} ON o.id = r.{column["org"]}
        LEFT JOIN {p.table} ON p.id = r.{column["person"]}
        LEFT JOIN {f.table} ON f.{person_fk} = p.id
        LEFT JOIN {c.table} ON c.{connection_fk} = o.id
        LEFT JOIN {k.table} ON r.{column["caller_kind"]} = 'user' AND k.id = (
            SELECT kp.id FROM {people_table} kp WHERE kp.{person_org} = r.{column["org"]}
            AND kp.{line_id} = r.{column["caller_id"]} ORDER BY kp.id LIMIT 1)
    """  # noqa: S608
    return columns, joins, [r, o, p, f, c, k]


@lru_cache(maxsize=4)
def _redirect_query(using):
    """The SELECT of load_for_redirect and its parts (built once per process)."""
    columns, joins, parts = _redirect_select(using)
    table = connections[using].ops.quote_name(CallRecord._meta.db_table)
    sql = f"SELECT {columns} FROM {table} r {joins} "  # noqa: S608 (names only)
    return sql + "WHERE r.id = %s AND r.redirect_status = %s", parts


def _loaded(found):
    """The call record of a _redirect_select row, with everything attached."""
    (record, org, person, settings, provider_connection, caller), (rules,) = found
    record.org = org
    # The org's token comes with it (None: a development org with a static token).
    Organization._meta.get_field("connection").set_cached_value(org, provider_connection)
    if person is not None:
        person.org = org
        record.person = person
        Person._meta.get_field("forwarding").set_cached_value(person, settings)
    if settings is not None:
        settings.person = person
        if rules is True or rules == 1:  # SQLite's EXISTS: there are some
            prefetch_related_objects([settings], "caller_rules")
        else:
            # As prefetch_related would leave them, without its query: a cached queryset
            # (over none(), so that a filter on it finds nothing rather than every rule).
            cached = CallerRule.objects.none()
            cached._result_cache = _caller_rules(rules or (), settings)
            cached._prefetch_done = True
            settings._prefetched_objects_cache = {"caller_rules": cached}
    if caller is not None:
        caller.org = org
    # The caller as a person of the org (None: a number, anonymous, or nobody of the org).
    record.caller_person = caller
    return record


def _caller_rules(rows, settings) -> list:
    """CallerRule instances from json_agg's rows (column -> JSON value): JSON columns as
    they come, the others through their field's to_python."""
    if isinstance(rows, str):  # a driver that hands json over as text
        rows = json.loads(rows)
    fields = CallerRule._meta.concrete_fields
    out = []
    for row in rows:
        values = [row[f.column] if isinstance(f, JSONField) else f.to_python(row[f.column])
                  for f in fields]
        rule = CallerRule.from_db(CallerRule.objects.db, [f.attname for f in fields], values)
        rule.settings = settings
        out.append(rule)
    return out


def load_for_redirect(record_id, expected):
    """The call record waiting in redirect state `expected`, with its org, its person,
    their settings and caller rules, and the caller's person (or None): one SELECT."""
    sql, parts = _redirect_query(CallRecord.objects.db)
    found = fetch_one(sql, [record_id, expected], parts, prepared=True)
    return None if found is None else _loaded(found)


def _insert_sql(model, names, using, source):
    """INSERT INTO model's table (the columns of `names`) SELECT the parameters FROM
    `source` (a CTE's name): one row per row of `source`."""
    connection = connections[using]
    q = connection.ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(q(field.column) for field in fields)
    # A SELECT's parameters have no type of their own (a VALUES list's take the column's):
    # each is cast to its column's type.
    values = ", ".join(f"CAST(%s AS {field.cast_db_type(connection)})" for field in fields)
    # Only names and types from the models' metadata are interpolated; the values are
    # parameters.
    return (f"INSERT INTO {q(meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT {values} FROM {source}")


def _prepared(model, values: dict, connection) -> list:
    params = []
    for name, value in values.items():
        field = model._meta.get_field(name)
        if field.is_relation and hasattr(value, "pk"):
            value = value.pk
        params.append(field.get_db_prep_save(value, connection))
    return params


@lru_cache(maxsize=16)
def _update_then_insert_sql(where: tuple, names: tuple, audit_names: tuple, using: str):
    update = update_sql(CallRecord, where, names, using)
    pk = connections[using].ops.quote_name(CallRecord._meta.pk.column)
    return (f"WITH changed AS ({update} RETURNING {pk}) "
            + _insert_sql(AuditEvent, audit_names, using, "changed"))


def update_call_audited(record_id, *, expected: str, audit_row: dict, **values) -> bool:
    """update_call, and when it changed the row, the audit row `audit_row` (from
    portal.audit.row_values) in the same transaction; True when it did. On PostgreSQL one
    statement (an UPDATE ... RETURNING feeding an INSERT ... SELECT): a redirect's outcome
    costs one round trip and no BEGIN/COMMIT; elsewhere (SQLite) the two statements in a
    transaction."""
    using = CallRecord.objects.db
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            if not update_call(record_id, expected=expected, **values):
                return False
            AuditEvent(**audit_row).save(using=using)
        return True
    meta = CallRecord._meta
    params = _prepared(CallRecord, values, connection)
    params.append(record_id)
    params.append(meta.get_field("redirect_status").get_db_prep_save(expected, connection))
    params.extend(_prepared(AuditEvent, audit_row, connection))
    sql = _update_then_insert_sql(("redirect_status",), tuple(values), tuple(audit_row), using)
    with statement_cursor(using) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount > 0
