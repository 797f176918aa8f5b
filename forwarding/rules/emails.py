"""The email a person gets when somebody else changes their forwarding.

Sent after the transaction commits: an email must never announce a change that was
rolled back. A failure to send is logged and never undoes the change.
"""

from __future__ import annotations

import logging

from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from forwarding.rules import selectors
from portal.timezones import person_zone

log = logging.getLogger(__name__)


def recipient(person) -> str:
    user = person.user if person.user_id else None
    return (user.email if user is not None and user.email else person.email) or ""


def is_somebody_else(person, actor) -> bool:
    return actor.user is None or actor.user.pk != person.user_id


def compose(*, person, actor, old, new, event) -> tuple[str, str]:
    caps = selectors.caps_for(person)
    # The reader is the person: every time in the email is on their wall clock.
    with timezone.override(person_zone(person)):
        changes = selectors.describe_changes(old, new, caps=caps)
        now_lines = [f"- {d['label']}: {d['text']}"
                     for d in selectors.describe(new, caps=caps)]
    verb = "restored an earlier version of" if event == "forwarding.restored" else "changed"
    subject = f"{actor.label} {verb} your call forwarding"
    link = django_settings.PUBLIC_URL + reverse("my_forwarding")
    body = "\n".join([
        f"Hello {person.display_name},",
        "",
        f"{actor.label} {verb} your call forwarding (now version {new.get('version')}).",
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
