"""A push's claim of its settings row, and the row with everything the push needs, in
one statement.

The claim is a conditional UPDATE (behind, not failed, not claimed by a live push, due):
whoever's UPDATE changes the row owns it, so two workers never push the same person.
On PostgreSQL the UPDATE's RETURNING feeds a SELECT that joins the person, the org and
its provider connection (the token), and the partner and its connection when the change
goes through one, plus whether the row has caller rules: one round trip and no ORM
compilation, where the claim, Django's six-table select_related and the caller rules
were three statements and about 4 ms of a push's 9 ms of worker CPU
(bench/push_cost.py). The statement is built once per process from the models' metadata
(portal.rowsets), so a new field is read without editing anything. Elsewhere (the SQLite
demo has no data-modifying WITH) the claim and the read are two statements, as before.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache

from django.db import connections
from django.db.models import F, Q, prefetch_related_objects

from forwarding.models import CallerRule, ForwardingSettings, PushAttempt, SyncStatus
from portal.models import Organization, Person, ProviderConnection
from portal.rowsets import fetch_all, fetch_one, json_default, part, statement_cursor

# A task may run a little before its due time (clock skew between machines).
EARLY_TOLERANCE = timedelta(milliseconds=200)
# Rows in these states are not pushed by a task (a person or the services start them).
NOT_CLAIMABLE = (SyncStatus.FAILED, SyncStatus.NOT_PUSHED)


@lru_cache(maxsize=8)
def _claim_query(using, many=False):
    """The claim-and-load statement and its parts: settings (from the UPDATE's RETURNING),
    person, org, org's connection, partner, partner's connection. `many`: for a list of
    ids (one array parameter) instead of one id."""
    connection = connections[using]
    q = connection.ops.quote_name
    meta = ForwardingSettings._meta
    f, p, o, c, po, pc = (part(ForwardingSettings, "f", using), part(Person, "p", using),
                          part(Organization, "o", using),
                          part(ProviderConnection, "c", using),
                          part(Organization, "po", using),
                          part(ProviderConnection, "pc", using))

    def col(name):
        return q(meta.get_field(name).column)

    people, orgs, conns, rules = (Person._meta, Organization._meta, ProviderConnection._meta,
                                  CallerRule._meta)
    conn_org = q(conns.get_field("org").column)
    # Only names from the models' metadata are interpolated; the values are parameters.
    sql = f"""
        WITH f AS (
            UPDATE {q(meta.db_table)}
            SET {col("claimed_until")} = %s, {col("claim_token")} = %s,
                {col("sync_status")} = %s
            WHERE {q(meta.pk.column)} {"= ANY(%s)" if many else "= %s"}
              AND {col("version")} > {col("synced_version")}
              AND {col("sync_status")} NOT IN (%s, %s)
              AND ({col("claimed_until")} IS NULL OR {col("claimed_until")} < %s)
              AND ({col("next_attempt_at")} IS NULL OR {col("next_attempt_at")} <= %s)
            RETURNING *
        )
        SELECT {f.columns}, {p.columns}, {o.columns}, {c.columns}, {po.columns},
               {pc.columns},
               EXISTS (SELECT 1 FROM {q(rules.db_table)} cr
                       WHERE cr.{q(rules.get_field("settings").column)} = f.{q(meta.pk.column)})
        FROM f
        JOIN {q(people.db_table)} p ON p.{q(people.pk.column)} = f.{col("person")}
        JOIN {q(orgs.db_table)} o ON o.{q(orgs.pk.column)} = p.{q(people.get_field("org").column)}
        LEFT JOIN {q(conns.db_table)} c ON c.{conn_org} = o.{q(orgs.pk.column)}
        LEFT JOIN {q(orgs.db_table)} po ON po.{q(orgs.pk.column)} = f.{col("push_via_partner")}
        LEFT JOIN {q(conns.db_table)} pc ON pc.{conn_org} = po.{q(orgs.pk.column)}
    """  # noqa: S608
    return sql, [f, p, o, c, po, pc]


def _attach(found) -> ForwardingSettings:
    (row, person, org, connection, partner, partner_connection), (has_rules,) = found
    connection_field = Organization._meta.get_field("connection")
    # None is remembered too: an org without a connection uses its static token, and
    # asking again would cost a query.
    connection_field.set_cached_value(org, connection)
    person.org = org
    row.person = person
    if partner is not None:
        connection_field.set_cached_value(partner, partner_connection)
    row.push_via_partner = partner
    if has_rules:
        prefetch_related_objects([row], "caller_rules")
    else:
        row._prefetched_objects_cache = {"caller_rules": CallerRule.objects.none()}
    return row


def claim(settings_id, now, token, *, seconds) -> ForwardingSettings | None:
    """Claim row `settings_id` for `seconds` under `token` if a push is due; the row with
    its person, org, partner and their connections (and caller rules) attached, or None
    when it is not this push's to do."""
    using = ForwardingSettings.objects.db
    if connections[using].vendor != "postgresql":
        found = _claim_orm([settings_id], now, token, seconds=seconds,
                           due_by=now + EARLY_TOLERANCE)
        return found.get(settings_id)
    sql, parts = _claim_query(using)
    found = fetch_one(sql, _claim_params(settings_id, now, token, seconds=seconds,
                                         due_by=now + EARLY_TOLERANCE, using=using),
                      parts, prepared=True)
    return None if found is None else _attach(found)


def claim_many(ids, now, token, *, seconds, due_by) -> dict:
    """`claim` for a batch of rows (a bulk job's consecutive slots, forwarding.sync.batches)
    in one statement: every row of `ids` whose push is due by `due_by` (the batch's last
    slot, with EARLY_TOLERANCE) is claimed under `token`; {id: row} of those claimed."""
    using = ForwardingSettings.objects.db
    ids = list(ids)
    if connections[using].vendor != "postgresql":
        return _claim_orm(ids, now, token, seconds=seconds, due_by=due_by)
    sql, parts = _claim_query(using, many=True)
    rows = {}
    for found in fetch_all(sql, _claim_params(ids, now, token, seconds=seconds,
                                              due_by=due_by, using=using),
                           parts, prepared=True):
        row = _attach(found)
        rows[row.pk] = row
    return rows


def _claim_params(ids, now, token, *, seconds, due_by, using):
    connection = connections[using]
    meta = ForwardingSettings._meta

    def prep(name, value):
        return meta.get_field(name).get_db_prep_save(value, connection)

    return [prep("claimed_until", now + timedelta(seconds=seconds)), token,
            SyncStatus.PUSHING, ids, *NOT_CLAIMABLE, prep("claimed_until", now),
            prep("next_attempt_at", due_by)]


def _claim_orm(ids, now, token, *, seconds, due_by) -> dict:
    """The claim where there is no data-modifying WITH (the SQLite demo): an UPDATE, then
    the claimed rows read back."""
    claimable = (
        ForwardingSettings.objects.filter(pk__in=ids, version__gt=F("synced_version"))
        .exclude(sync_status__in=NOT_CLAIMABLE)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by))
    )
    if not claimable.update(claimed_until=now + timedelta(seconds=seconds),
                            claim_token=token, sync_status=SyncStatus.PUSHING):
        return {}
    return {row.pk: row for row in ForwardingSettings.objects.select_related(
        "person__org__connection", "push_via_partner__connection").filter(
        pk__in=ids, claim_token=token)}


@lru_cache(maxsize=4)
def _success_sql(using):
    connection = connections[using]
    q = connection.ops.quote_name
    meta, attempts = ForwardingSettings._meta, PushAttempt._meta

    def col(name):
        return q(meta.get_field(name).column)

    def cast(model, name):
        return f"CAST(%s AS {model._meta.get_field(name).cast_db_type(connection)})"

    now, version = cast(ForwardingSettings, "last_synced_at"), cast(ForwardingSettings,
                                                                        "synced_version")
    attempt_sets = ", ".join(f"{q(attempts.get_field(name).column)} = %s"
                             for name in SUCCESS_ATTEMPT_FIELDS)
    newer = f"{col('version')} > {version}"
    mine = f"{col('claim_token')} = %s"
    # SET's expressions see the row as it was (after any concurrent edit committed: the
    # UPDATE waits for the row's lock and re-reads it), as the SELECT ... FOR UPDATE did.
    # Only names from the models' metadata are interpolated; the values are parameters.
    return f"""
        WITH a AS (
            UPDATE {q(attempts.db_table)} SET {attempt_sets}
            WHERE {q(attempts.pk.column)} = %s
        )
        UPDATE {q(meta.db_table)} SET
            {col("synced_version")} = GREATEST({col("synced_version")}, {version}),
            {col("sync_attempts")} = 0, {col("last_error")} = '',
            {col("last_synced_at")} = {now},
            {col("drift_detected_at")} = NULL, {col("drift_state")} = NULL,
            {col("person_settings_held")} = COALESCE(
                CAST(%s AS {meta.get_field("person_settings_held").cast_db_type(connection)}),
                {col("person_settings_held")}),
            {col("sync_status")} = CASE WHEN {newer} THEN %s ELSE %s END,
            {col("next_attempt_at")} = CASE WHEN {newer}
                THEN GREATEST(COALESCE({col("next_attempt_at")}, {now}), {now}) ELSE NULL END,
            {col("claimed_until")} = CASE WHEN {mine} THEN NULL ELSE {col("claimed_until")} END,
            {col("claim_token")} = CASE WHEN {mine} THEN '' ELSE {col("claim_token")} END
        WHERE {q(meta.pk.column)} = %s
        RETURNING {col("version")}, {col("next_attempt_at")}
    """  # noqa: S608


SUCCESS_ATTEMPT_FIELDS = ("finished_at", "outcome", "status_code", "duration_ms",
                          "tracking_id", "requests")


def settle_success(row_id, *, token, attempt_id, version, now, held, attempt_values):
    """After the provider took `version`: the row synced (or pending again when a newer
    version was saved meanwhile), its claim released if still `token`'s, drift cleared,
    `person_settings_held` set to `held` (None: unchanged), and the attempt completed with
    `attempt_values` (SUCCESS_ATTEMPT_FIELDS). One statement on PostgreSQL; call inside
    the transaction that writes the audit row. Returns (the row's version, its
    next_attempt_at)."""
    using = ForwardingSettings.objects.db
    connection = connections[using]
    if connection.vendor != "postgresql":
        return _settle_success_orm(row_id, token=token, attempt_id=attempt_id,
                                   version=version, now=now, held=held,
                                   attempt_values=attempt_values)
    settings_meta, attempts = ForwardingSettings._meta, PushAttempt._meta
    when = settings_meta.get_field("last_synced_at").get_db_prep_save(now, connection)
    params = [attempts.get_field(name).get_db_prep_save(attempt_values[name], connection)
              for name in SUCCESS_ATTEMPT_FIELDS]
    params += [attempt_id, version, when, held,
               version, SyncStatus.PENDING, SyncStatus.SYNCED,
               version, when, when,
               token, token, row_id]
    with statement_cursor(using) as cursor:
        cursor.execute(_success_sql(using), params)
        current_version, next_attempt_at = cursor.fetchone()
    if next_attempt_at is not None:
        field = settings_meta.get_field("next_attempt_at")
        for converter in connection.ops.get_db_converters(field.get_col("f")):
            next_attempt_at = converter(next_attempt_at, field, connection)
    return current_version, next_attempt_at


def _settle_success_orm(row_id, *, token, attempt_id, version, now, held, attempt_values):
    current = ForwardingSettings.objects.select_for_update().get(pk=row_id)
    fields = {
        "synced_version": max(current.synced_version, version),
        "sync_attempts": 0, "last_error": "", "last_synced_at": now,
        "drift_detected_at": None, "drift_state": None,
    }
    if held is not None:
        fields["person_settings_held"] = held
    if current.version > version:
        fields["sync_status"] = SyncStatus.PENDING
        fields["next_attempt_at"] = max(current.next_attempt_at or now, now)
    else:
        fields["sync_status"] = SyncStatus.SYNCED
        fields["next_attempt_at"] = None
    if current.claim_token == token:
        fields.update(claimed_until=None, claim_token="")
    ForwardingSettings.objects.filter(pk=row_id).update(**fields)
    PushAttempt.objects.filter(pk=attempt_id).update(**attempt_values)
    return current.version, fields["next_attempt_at"]


@lru_cache(maxsize=4)
def _successes_sql(using):
    """settle_success for many rows: the rows and their attempts, each with its own
    values, from ONE JSON parameter (as portal.rowsets sends a chunk's rows)."""
    connection = connections[using]
    q = connection.ops.quote_name
    meta, attempts = ForwardingSettings._meta, PushAttempt._meta

    def col(name):
        return q(meta.get_field(name).column)

    def typed(name, field):
        return f"{name} {field.cast_db_type(connection)}"

    record = ", ".join([
        typed("row_id", meta.pk), typed("attempt_id", attempts.pk),
        typed("version", meta.get_field("synced_version")),
        typed("held", meta.get_field("person_settings_held")),
        typed("started_at", attempts.get_field("started_at")),
        *(typed(name, attempts.get_field(name)) for name in SUCCESS_ATTEMPT_FIELDS)])
    attempt_sets = ", ".join(f"{q(attempts.get_field(name).column)} = v.{name}"
                             for name in ("started_at", *SUCCESS_ATTEMPT_FIELDS))
    newer = f"t.{col('version')} > v.version"
    mine = f"t.{col('claim_token')} = %s"
    # As _success_sql, row by row; only names and types from the models' metadata are
    # interpolated, the values are parameters.
    return f"""
        WITH v AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS v({record})),
        a AS (
            UPDATE {q(attempts.db_table)} AS t SET {attempt_sets}
            FROM v WHERE t.{q(attempts.pk.column)} = v.attempt_id
        )
        UPDATE {q(meta.db_table)} AS t SET
            {col("synced_version")} = GREATEST(t.{col("synced_version")}, v.version),
            {col("sync_attempts")} = 0, {col("last_error")} = '',
            {col("last_synced_at")} = v.finished_at,
            {col("drift_detected_at")} = NULL, {col("drift_state")} = NULL,
            {col("person_settings_held")} = COALESCE(v.held, t.{col("person_settings_held")}),
            {col("sync_status")} = CASE WHEN {newer} THEN %s ELSE %s END,
            {col("next_attempt_at")} = CASE WHEN {newer}
                THEN GREATEST(COALESCE(t.{col("next_attempt_at")}, v.finished_at),
                              v.finished_at) ELSE NULL END,
            {col("claimed_until")} = CASE WHEN {mine} THEN NULL ELSE t.{col("claimed_until")} END,
            {col("claim_token")} = CASE WHEN {mine} THEN '' ELSE t.{col("claim_token")} END
        FROM v WHERE t.{q(meta.pk.column)} = v.row_id
        RETURNING t.{q(meta.pk.column)}, t.{col("version")}, t.{col("next_attempt_at")}
    """  # noqa: S608


def settle_successes(entries, *, token) -> dict:
    """`settle_success` for the successes of one batch (all claimed under `token`), in
    one statement on PostgreSQL. `entries`: dicts of row_id, attempt_id, version, held,
    started_at (when its request went out) and SUCCESS_ATTEMPT_FIELDS (finished_at is
    also the row's last_synced_at). Returns {row id: (its version, its next_attempt_at)}.
    Call inside the transaction that writes the audit rows."""
    using = ForwardingSettings.objects.db
    connection = connections[using]
    if connection.vendor != "postgresql":
        out = {}
        for entry in entries:
            out[entry["row_id"]] = _settle_success_orm(
                entry["row_id"], token=token, attempt_id=entry["attempt_id"],
                version=entry["version"], now=entry["finished_at"], held=entry["held"],
                attempt_values={name: entry[name] for name in SUCCESS_ATTEMPT_FIELDS})
        return out
    data = json.dumps(entries, default=json_default, separators=(",", ":"))
    with statement_cursor(using) as cursor:
        cursor.execute(_successes_sql(using),
                       [data, SyncStatus.PENDING, SyncStatus.SYNCED, token, token])
        found = cursor.fetchall()
    field = ForwardingSettings._meta.get_field("next_attempt_at")
    converters = connection.ops.get_db_converters(field.get_col("f"))
    out = {}
    for row_id, version, next_attempt_at in found:
        if next_attempt_at is not None:
            for converter in converters:
                next_attempt_at = converter(next_attempt_at, field, connection)
        out[row_id] = (version, next_attempt_at)
    return out
