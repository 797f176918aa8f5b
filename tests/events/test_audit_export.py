"""The audit log export: CSV and JSON Lines, a date range, streamed, the same people as
the audit page, bad ranges refused with the reason."""

import csv
import io
import json
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal import audit, audit_export
from portal.audit import Actor, Event
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(acme):
    org, admin = acme
    person = make_person(org, name="=HYPERLINK(evil)")
    rows = []
    for _ in range(3):
        rows.append(audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.for_user(admin),
                                 person=person, old={"busy_enabled": False},
                                 new={"busy_enabled": True, "note": "ü,\"quoted\"\nline"}))
    audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system(),
                 org=make_org("webex", name="Not Acme"))
    return org, admin, rows


def streamed(response):
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_json_lines_have_one_event_per_line_oldest_first(client, history):
    org, admin, rows = history
    client.force_login(admin)
    response = client.get(reverse("org_audit_export", args=[org.id]), {"file_format": "jsonl"})
    assert response["Content-Type"].startswith("application/jsonl")
    assert response["Content-Disposition"] == f'attachment; filename="audit-org{org.id}.jsonl"'
    lines = streamed(response).splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [p["id"] for p in parsed] == [r.pk for r in rows]  # other orgs' rows left out
    assert parsed[0]["new"]["note"] == "ü,\"quoted\"\nline"
    assert parsed[0]["label"] == "Settings changed"
    assert parsed[0]["person_label"] == "=HYPERLINK(evil)"  # JSON is data, untouched
    assert parsed[0]["created_at"].endswith("Z")
    assert list(parsed[0]) == list(audit_export.COLUMNS)


def test_csv_has_a_header_json_cells_and_defused_formulas(client, history):
    org, admin, rows = history
    client.force_login(admin)
    response = client.get(reverse("org_audit_export", args=[org.id]), {"file_format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(streamed(response))))
    assert [int(r["id"]) for r in table] == [r.pk for r in rows]
    assert table[0]["person_label"] == "'=HYPERLINK(evil)"
    assert json.loads(table[0]["new"])["note"] == "ü,\"quoted\"\nline"
    assert table[0]["event"] == "forwarding.updated"


def test_a_date_range_selects_rows_and_a_backwards_one_is_refused(client, history):
    org, admin, rows = history
    client.force_login(admin)
    url = reverse("org_audit_export", args=[org.id])
    past = (rows[0].created_at - timedelta(hours=2)).astimezone(UTC)
    response = client.get(url, {"file_format": "jsonl",
                                "since": past.strftime("%Y-%m-%dT%H:%M")})
    assert [json.loads(line)["id"] for line in streamed(response).splitlines()] == \
        [r.pk for r in rows]
    response = client.get(url, {"file_format": "jsonl",
                                "until": past.strftime("%Y-%m-%dT%H:%M")})
    assert streamed(response) == ""
    future = (rows[-1].created_at + timedelta(hours=2)).astimezone(UTC)
    response = client.get(url, {"file_format": "jsonl",
                                "since": future.strftime("%Y-%m-%dT%H:%M")})
    assert streamed(response) == ""
    response = client.get(url, {"file_format": "csv", "since": "2026-03-02T00:00",
                                "until": "2026-03-01T00:00"})
    assert response.status_code == 400
    assert "Choose a time after the start." in response.content.decode()
    response = client.get(url, {"file_format": "xml"})
    assert response.status_code == 400


def test_without_a_format_the_page_shows_the_form(client, history):
    org, admin, _rows = history
    client.force_login(admin)
    response = client.get(reverse("org_audit_export", args=[org.id]))
    assert response.status_code == 200 and b"JSON Lines" in response.content
    audit_page = client.get(reverse("org_audit", args=[org.id]))
    assert reverse("org_audit_export", args=[org.id]).encode() in audit_page.content


def test_the_api_streams_the_same_rows_and_checks_its_parameters(history):
    org, admin, rows = history
    api = APIClient()
    api.force_authenticate(admin)
    url = f"/api/v1/organizations/{org.id}/audit-export/"
    response = api.get(url)
    assert [json.loads(line)["id"] for line in streamed(response).splitlines()] == \
        [r.pk for r in rows]
    response = api.get(url, {"file_format": "csv"})
    assert streamed(response).splitlines()[0].startswith("id,created_at,event,label")
    bad = api.get(url, {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"})
    assert bad.status_code == 400 and bad.json()["errors"]["until"]
    member = make_user(org=org, role=Membership.MEMBER)
    api.force_authenticate(member)
    assert api.get(url).status_code == 404
