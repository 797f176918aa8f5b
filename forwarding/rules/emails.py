"""The email a person gets when somebody else changes their forwarding.

Sent after the transaction commits: an email must never announce a change that was
rolled back. A failure to send is logged and never undoes the change.

One change (a page's or the API's save) sends its email when its transaction commits.
A bulk job's chunk changes up to a few hundred people at once: composing and sending
their emails there would cost more than saving the chunk (about 3 ms a person, most of it
the email library encoding headers), and would hold back the chunk's pushes behind a mail
server. Its emails are queued instead, as one task that reads the chunk's audit rows
(which hold who changed what, old and new) and sends them on one mail connection
(`schedule_change_notices`, `send_change_notices`).
"""

from __future__ import annotations

import json
import logging
from email.header import Header
from functools import lru_cache

from celery import current_app
from django.conf import settings as django_settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from forwarding.rules import selectors
from portal.models import AuditEvent
from portal.timezones import person_zone

log = logging.getLogger(__name__)


def recipient(person) -> str:
    user = person.user if person.user_id else None
    return (user.email if user is not None and user.email else person.email) or ""


def is_somebody_else(person, actor) -> bool:
    return actor.user is None or actor.user.pk != person.user_id


# Queued by name (forwarding.rules.tasks registers it): this module never imports tasks.
NOTICES_TASK = "forwarding.send_change_notices"
NOTICES_QUEUE = "bulk"


def _descriptions(person, old, new, memo):
    """(what changed, the forwarding now) as lines; `memo` (a dict, or None) keeps them
    for the next person with the same provider, zone and settings, as a bulk job's
    people mostly are (the snapshots' versions differ, the sentences do not)."""
    caps = selectors.caps_for(person)
    zone = person_zone(person)
    key = None
    if memo is not None:
        key = (person.org_id, str(zone), json.dumps(_unversioned(old), sort_keys=True),
               json.dumps(_unversioned(new), sort_keys=True))
        if key in memo:
            return memo[key]
    # The reader is the person: every time in the email is on their wall clock.
    with timezone.override(zone):
        changes = selectors.describe_changes(old, new, caps=caps)
        now_lines = [f"- {d['label']}: {d['text']}"
                     for d in selectors.describe(new, caps=caps)]
    if memo is not None:
        memo[key] = (changes, now_lines)
    return changes, now_lines


def _unversioned(snapshot):
    return {k: v for k, v in (snapshot or {}).items() if k != "version"}


def compose(*, person, actor, old, new, event, memo=None) -> tuple[str, str]:
    """The email's subject and body. `actor`: an audit.Actor or the label alone (what
    an audit row keeps)."""
    label = actor if isinstance(actor, str) else actor.label
    changes, now_lines = _descriptions(person, old, new, memo)
    verb = "restored an earlier version of" if event == "forwarding.restored" else "changed"
    subject = f"{label} {verb} your call forwarding"
    link = django_settings.PUBLIC_URL + reverse("my_forwarding")
    body = "\n".join([
        f"Hello {person.display_name},",
        "",
        f"{label} {verb} your call forwarding (now version {new.get('version')}).",
        "",
        "What changed:",
        *([f"- {line}" for line in changes] or ["- The order or details of the rules."]),
        "",
        "Your forwarding now:",
        *now_lines,
        "",
        f"See or change it: {link}",
        "",
        "If you did not expect this change, contact your organization's administrator.",
    ])
    return subject, body


def schedule_change_notice(*, person, actor, old, new, event) -> bool:
    """Queue the email for after commit when someone other than the person changed their
    settings and the person has an address. Returns whether one was queued."""
    if not is_somebody_else(person, actor):
        return False
    to = recipient(person)
    if not to:
        return False
    subject, body = compose(person=person, actor=actor, old=old, new=new, event=event)

    def send():
        try:
            send_mail(subject, body, None, [to])
        except Exception:  # the change is committed; a mail outage must not hide it
            log.warning("could not send the forwarding change email to person %s", person.pk,
                        exc_info=True)

    transaction.on_commit(send)
    return True


def _is_somebody_else_row(row) -> bool:
    """is_somebody_else, from what an audit row keeps."""
    person = row.person
    return row.actor_id is None or row.actor_id != person.user_id


def schedule_change_notices(rows) -> int:
    """The emails of many changes saved together (a bulk job's chunk): `rows` are their
    audit rows (saved, so they have ids). One task is queued when the transaction commits;
    it sends the emails of the people who get one. With the broker down they are sent
    from here after the commit instead, so none is lost. Returns how many are due."""
    # May have an address: its own, or its user's. `recipient` would load each person's
    # user, a query per row inside the chunk; the task reads them all at once and checks.
    ids = [row.pk for row in rows
           if row.person is not None and _is_somebody_else_row(row)
           and (row.person.email or row.person.user_id)]
    if not ids:
        return 0

    def enqueue():
        try:
            current_app.send_task(NOTICES_TASK, args=[ids], queue=NOTICES_QUEUE, retry=False)
        except Exception as exc:  # the broker may be down: send them now
            log.warning("could not queue %d forwarding change emails (%s); sending them now",
                        len(ids), exc)
            send_change_notices(ids)

    transaction.on_commit(enqueue)
    return len(ids)


@lru_cache(maxsize=256)
def _wire_subject(subject: str) -> str:
    """The subject as it goes on the wire: a subject with non-ASCII characters (a bulk
    job's "·", a name like Zoë) encoded as RFC 2047 words, as Django would encode it
    for each message, but once for the thousands of emails of a job that share it (the
    email library's encoding costs about 1 ms a message)."""
    try:
        subject.encode("ascii")
    except UnicodeEncodeError:
        encoded = Header(subject, django_settings.DEFAULT_CHARSET or "utf-8").encode()
        # Django refuses a header with a line break in it: the encoded words stay apart
        # by a space, which a reader drops between encoded words (RFC 2047, 6.2).
        return encoded.replace("\n ", " ")
    return subject


def send_change_notices(audit_ids) -> int:
    """Send the emails of these audit rows (forwarding changes) on one mail connection;
    returns how many were sent. A person who has no address any more, or whose row is
    gone (retention), gets none. A mail server failure is logged: the changes stand."""
    rows = (AuditEvent.objects.filter(pk__in=list(audit_ids), person__isnull=False)
            .select_related("person__user", "person__org").order_by("pk"))
    memo, messages = {}, []
    for row in rows:
        to = recipient(row.person)
        if not to or not _is_somebody_else_row(row):
            continue
        subject, body = compose(person=row.person, actor=row.actor_label, old=row.old or {},
                                new=row.new or {}, event=row.event, memo=memo)
        messages.append(EmailMessage(_wire_subject(subject), body, None, [to]))
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the changes are committed; a mail outage must not hide them
        log.warning("could not send %d forwarding change emails", len(messages),
                    exc_info=True)
        return 0
