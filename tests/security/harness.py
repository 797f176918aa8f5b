"""Running one request as one role against the world, and telling whether it changed
anything (database rows, queued tasks, sent mail)."""

from __future__ import annotations

import copy
import itertools
from contextlib import contextmanager
from http.cookies import SimpleCookie
from unittest import mock

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from celery import Celery
from celery.app.task import Task
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from forwarding.models import BulkJob, BulkJobRow, CallRecord, ForwardingSettings
from portal.models import (
    AuditEvent,
    Delegation,
    EventDelivery,
    EventEndpoint,
    Invitation,
    Membership,
    Organization,
    Person,
    ProviderConnection,
    User,
)

from .matrix import encode

_ips = itertools.count(1)
QUEUED: list = []


@contextmanager
def no_broker():
    """Tasks are recorded in QUEUED instead of going to the broker."""

    def apply_async(self, args=None, kwargs=None, **options):
        QUEUED.append((self.name, args, kwargs))

    def send_task(app, name, args=None, kwargs=None, **options):
        QUEUED.append((name, args, kwargs))

    with mock.patch.object(Task, "apply_async", apply_async), \
            mock.patch.object(Celery, "send_task", send_task):
        yield


# Table -> the columns a write could change; compared as one digest per table.
WATCHED = {
    ForwardingSettings: ["person_id", "version", "synced_version", "sync_status", "drift_state",
                         "next_attempt_at", "always_enabled", "busy_enabled",
                         "busy_destination", "no_answer_enabled"],
    AuditEvent: ["id"],
    BulkJob: ["id", "status"],
    BulkJobRow: ["id", "status"],
    Delegation: ["id", "revoked_at"],
    Invitation: ["id", "role", "accepted_at"],
    Membership: ["id", "user_id", "org_id", "role"],
    User: ["id", "email", "password", "is_staff", "is_superuser", "is_active"],
    Person: ["id", "org_id", "user_id", "display_name", "phone_number"],
    Organization: ["id", "name", "credentials"],
    CallRecord: ["id", "state"],
    EmailAddress: ["id", "email", "verified"],
    Authenticator: ["id", "type"],
    Token: ["key", "user_id"],
    ProviderConnection: ["id", "org_id", "state", "secrets", "generation"],
    EventEndpoint: ["id", "url", "enabled", "secrets"],
    EventDelivery: ["id", "status"],
}


def _digest_sql():
    parts = []
    for model, names in WATCHED.items():
        columns = ", ".join(f'"{model._meta.get_field(n).column}"::text' for n in names)
        pk = model._meta.pk.column
        # Identifiers from the models' own metadata, no outside input.
        parts.append(f"(SELECT md5(coalesce(string_agg(concat_ws('|', {columns}), ';' "  # noqa: S608
                     f'ORDER BY "{pk}"), \'\')) FROM "{model._meta.db_table}")')
    return "SELECT " + ", ".join(parts)


_SQL = None


def state():
    """Everything a write could touch: one digest per watched table."""
    global _SQL
    if connection.vendor != "postgresql":  # the suite runs on PostgreSQL; a slow fallback
        return {m.__name__: list(m._default_manager.order_by("pk").values_list(*names))
                for m, names in WATCHED.items()}
    _SQL = _SQL or _digest_sql()
    with connection.cursor() as cursor:
        cursor.execute(_SQL)
        row = cursor.fetchone()
    return {m.__name__: value for m, value in zip(WATCHED, row, strict=True)}


_CLIENTS: dict[bool, Client] = {}
_SESSIONS: dict[int | None, SimpleCookie] = {}


def _client(enforce_csrf_checks):
    # One client per CSRF mode: a new Client loads the middleware chain again (WhiteNoise
    # then scans the static files), which would cost more than the request.
    if enforce_csrf_checks not in _CLIENTS:
        _CLIENTS[enforce_csrf_checks] = Client(enforce_csrf_checks=enforce_csrf_checks)
    return _CLIENTS[enforce_csrf_checks]


def sign_in(users):
    """A session for each user, made once in the world's transaction (so it outlives each
    test's savepoint); the cookies are kept and put back before every request."""
    _SESSIONS.clear()
    client = _client(False)
    for user in users:
        client.cookies = SimpleCookie()
        if user is not None:
            client.force_login(user)
        _SESSIONS[user.pk if user is not None else None] = copy.deepcopy(client.cookies)


def client_for(user, *, enforce_csrf_checks=False):
    """A client signed in as `user` (None: anonymous), with the cookies it had right
    after signing in: what one request does to them never reaches the next."""
    client = _client(enforce_csrf_checks)
    client.cookies = copy.deepcopy(_SESSIONS[user.pk if user is not None else None])
    return client


def outcome(response):
    """The cell value of an answer: the status, or login / mfa for those redirects."""
    code = response.status_code
    if code == 302:
        location = response["Location"]
        if location.startswith((reverse("account_login"), reverse("admin:login"))):
            return "login"
        if location.startswith(reverse("mfa_activate_totp")):
            return "mfa"
    return str(code)


def is_success(value):
    return value in {"200", "201", "202", "204", "302"}


@contextmanager
def rolled_back():
    """Whatever happens inside is undone (a savepoint in the test's transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


class Changes:
    def __init__(self, before, after, queued, mails):
        self.rows = sorted(k for k in before if before[k] != after[k])
        self.queued = queued
        self.mails = mails

    def __bool__(self):
        return bool(self.rows or self.queued or self.mails)

    def __str__(self):
        parts = []
        if self.rows:
            parts.append("changed " + ", ".join(self.rows))
        if self.queued:
            parts.append(f"queued {[q[0] for q in self.queued]}")
        if self.mails:
            parts.append(f"sent {self.mails} mail(s)")
        return "; ".join(parts)


def send(client, method, path, body=None):
    """The request, and what it changed."""
    before, n_mail = state(), len(mail.outbox)
    del QUEUED[:]
    kwargs = encode(body) if method != "GET" else {}
    # Each request its own address: allauth's per-IP rate limits must not add up over
    # hundreds of requests.
    n = next(_ips)
    kwargs["REMOTE_ADDR"] = f"198.18.{n // 250 % 250}.{n % 250 + 1}"
    response = getattr(client, method.lower())(path, **kwargs)
    changes = Changes(before, state(), list(QUEUED), len(mail.outbox) - n_mail)
    return response, changes
