"""One registry of audit event codes (portal.audit.Event): every writer uses it, and
a code missing from it cannot be written."""

import pytest

from portal import audit
from portal.models import AuditEvent


@pytest.mark.django_db
def test_an_unregistered_code_is_refused_and_nothing_is_written(org):
    with pytest.raises(ValueError):
        audit.record(event="push.exploded", actor=audit.Actor.system(), org=org)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_registered_code_is_stored_as_its_plain_value(org):
    row = audit.record(event=audit.Event.PUSH_FAILED, actor=audit.Actor.system(), org=org)
    row.refresh_from_db()
    assert row.event == "push.failed" and type(row.event) is str


def test_every_code_has_words_and_unknown_history_shows_as_itself():
    for code, label in audit.Event.choices:
        assert label and label != code and "_" not in label
        assert audit.event_label(code) == label
    assert audit.event_label("legacy.event") == "legacy.event"
    assert len(set(audit.Event.labels)) == len(audit.Event.labels)
