"""A bulk job's change emails (forwarding.rules.emails.schedule_change_notices): one task
per chunk reads the chunk's audit rows and sends each person the email a single change
would have sent them, on one mail connection."""

from datetime import UTC, datetime

import pytest
from celery import Celery
from django.core import mail

from forwarding.rules import emails
from portal.audit import Actor
from portal.models import AuditEvent, Membership
from tests.cast import make_org, make_person, make_user, person_with_user, update

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    org = make_org("webex", name="Notices")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    return org, Actor.for_user(admin, ip="192.0.2.9")


def change(person, actor, **changes):
    update(person, actor=actor, **changes)
    return AuditEvent.objects.filter(person=person, event="forwarding.updated").latest("id")


def test_each_person_gets_the_email_a_single_change_sends(world,
                                                         django_capture_on_commit_callbacks):
    org, actor = world
    paris = make_person(org, name="Paris Person", number="+12025556001",
                        time_zone="Europe/Paris")
    tokyo = make_person(org, name="Tokyo Person", number="+12025556002",
                        time_zone="Asia/Tokyo")
    same = make_person(org, name="Same As Paris", number="+12025556003",
                       time_zone="Europe/Paris")
    window = {"window_enabled": True, "window_destination": "+13035550100",
              "window_start": datetime(2031, 5, 1, 8, tzinfo=UTC),
              "window_end": datetime(2031, 5, 9, 8, tzinfo=UTC)}
    with django_capture_on_commit_callbacks(execute=True):  # sent one by one
        rows = [change(paris, actor, **window), change(tokyo, actor, **window),
                change(same, actor, **window),
                change(tokyo, actor, busy_enabled=True, busy_destination="+13035550111")]
    single = sorted((m.to[0], m.subject, m.body) for m in mail.outbox)
    assert len(single) == 4
    mail.outbox.clear()
    assert emails.send_change_notices([row.pk for row in rows]) == 4
    batched = sorted((m.to[0], m.subject, m.body) for m in mail.outbox)
    # The same texts, each on its reader's wall clock: the remembered sentences of one
    # person are never another's (Paris and Tokyo read different times).
    assert batched == single
    paris_body = next(body for to, _s, body in batched if to == paris.email)
    tokyo_bodies = [body for to, _s, body in batched if to == tokyo.email]
    assert "10:00" in paris_body and all("17:00" in body for body in tokyo_bodies)


def test_no_email_for_ones_own_change_or_without_an_address(world, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    org, actor = world
    member = person_with_user(org, number="+12025556010")
    own = Actor.for_user(member.user, ip="192.0.2.10")
    nobody = make_person(org, number="+12025556011", email="")
    rows = [change(member, own, always_enabled=True, always_destination="+13035550100"),
            change(nobody, actor, always_enabled=True, always_destination="+13035550100")]
    sent = []
    monkeypatch.setattr(Celery, "send_task", lambda app, name, args=None, **kw:
                        sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.schedule_change_notices(rows) == 0
    assert sent == []
    mail.outbox.clear()
    assert emails.send_change_notices([row.pk for row in rows]) == 0
    assert mail.outbox == []


def test_queued_when_the_chunk_commits_and_sent_at_once_when_the_broker_is_down(
        world, monkeypatch, django_capture_on_commit_callbacks):
    org, actor = world
    person = make_person(org, number="+12025556020")
    row = change(person, actor, always_enabled=True, always_destination="+13035550100")
    mail.outbox.clear()
    sent = []
    monkeypatch.setattr(Celery, "send_task", lambda app, name, args=None, queue=None, **kw:
                        sent.append((name, args, queue)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert emails.schedule_change_notices([row]) == 1
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sent == [(emails.NOTICES_TASK, [[row.pk]], "bulk")] and mail.outbox == []

    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(Celery, "send_task", down)
    with django_capture_on_commit_callbacks(execute=True):
        emails.schedule_change_notices([row])
    assert [m.to for m in mail.outbox] == [[person.email]]


def test_a_mail_server_failure_is_logged_and_changes_nothing(world, monkeypatch, caplog):
    org, actor = world
    person = make_person(org, number="+12025556030")
    row = change(person, actor, always_enabled=True, always_destination="+13035550100")

    class Broken:
        def send_messages(self, messages):
            raise OSError("mail server down")

    monkeypatch.setattr(emails, "get_connection", lambda: Broken())
    assert emails.send_change_notices([row.pk]) == 0
    assert "could not send 1 forwarding change emails" in caplog.text


def test_a_non_ascii_subject_reads_the_same_once_delivered(world,
                                                           django_capture_on_commit_callbacks):
    from email import message_from_bytes
    from email.header import decode_header, make_header

    org, _actor = world
    zoe = Actor(user=None, label="Zoë Admin · bulk job #7", ip="192.0.2.11",
                correlation_id="c-zoe")
    people = [make_person(org, number=f"+1202555{6040 + n}") for n in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        rows = [change(p, zoe, always_enabled=True, always_destination="+13035550100")
                for p in people]
    single = [m.message().as_bytes() for m in mail.outbox]
    mail.outbox.clear()
    assert emails.send_change_notices([row.pk for row in rows]) == 2
    for raw, single_raw in zip((m.message().as_bytes() for m in mail.outbox), single,
                               strict=True):
        subjects = [str(make_header(decode_header(message_from_bytes(data)["Subject"])))
                    for data in (raw, single_raw)]
        assert subjects == ["Zoë Admin · bulk job #7 changed your call forwarding"] * 2
