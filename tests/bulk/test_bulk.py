"""Bulk changes: the CSV format and its round trip, the dry run (which writes nothing),
jobs with partial failure, pushes on the bulk queue, progress counters, undo, and a
10,000-row dry run within 20 seconds."""

import csv
import io
from datetime import timedelta

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.bulk import jobs
from forwarding.bulk import selectors as bulk_selectors
from forwarding.bulk.csvfile import COLUMNS, SETTING_COLUMNS, export_rows
from forwarding.bulk.plan import plan_csv, plan_edit
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from portal.audit import Actor
from portal.models import AuditEvent, Membership, Person
from tests.cast import make_org, make_person, update

HEADER = ",".join(COLUMNS)


def export_text(org):
    out = io.StringIO()
    writer = csv.writer(out)
    for row in export_rows(org):
        writer.writerow(row)
    return out.getvalue()


def csv_text(rows, columns=("email",) + tuple(SETTING_COLUMNS)):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def state():
    """Everything a dry run must leave alone."""
    return (
        list(ForwardingSettings.objects.order_by("id").values_list("id", "version")),
        AuditEvent.objects.count(), BulkJob.objects.count(), BulkJobRow.objects.count(),
    )


@pytest.fixture
def people(org):
    return [make_person(org, name=f"Person {n}", email=f"p{n}@acme.example",
                        number=f"+1202555{n:04d}") for n in range(1, 6)]


@pytest.fixture
def admin_actor(admin_user):
    return Actor.for_user(admin_user, ip="192.0.2.20")


@pytest.fixture
def enqueued(monkeypatch):
    """Celery messages the code would send: (task name, args, queue)."""
    sent = []

    def send_task(app, name, args=None, kwargs=None, queue=None, **options):
        sent.append((name.removeprefix("forwarding."), args, queue))

    monkeypatch.setattr(Celery, "send_task", send_task)
    return sent


def run_job(job):
    ids = list(job.rows.filter(status=BulkJobRow.PENDING).values_list("id", flat=True))
    jobs.apply_rows(job_id=job.pk, row_ids=ids)
    job.refresh_from_db()
    return job


# --- the format ---------------------------------------------------------------------------------


@pytest.mark.django_db
class TestFormat:
    def test_export_has_every_person_and_setting(self, org, people):
        update(people[0], busy_enabled=True, busy_destination="+1 202 555 0177",
               no_answer_enabled=True, no_answer_destination="2001", no_answer_ring_after=5)
        start = timezone.now() + timedelta(days=1)
        update(people[1], window_enabled=True, window_start=start,
               window_end=start + timedelta(hours=2), window_destination="2002")
        rows = list(csv.DictReader(io.StringIO(export_text(org))))
        assert len(rows) == 5 and list(rows[0]) == list(COLUMNS)
        first = rows[0]
        assert first["email"] == "p1@acme.example" and first["version"] == "2"
        assert first["busy_enabled"] == "yes" and first["busy_destination"] == "+12025550177"
        assert first["no_answer_ring_after"] == "5" and first["always_enabled"] == "no"
        assert rows[1]["window_start"].endswith("+00:00")
        assert rows[2]["version"] == "1" and rows[2]["no_answer_ring_after"] == ""

    def test_export_import_round_trips(self, org, people):
        update(people[0], always_enabled=True, always_destination="2001",
               always_ring_reminder=True)
        text = export_text(org)
        result = plan_csv(org, text)
        assert result.file_errors == [] and result.invalid == 0
        assert result.changing == 0  # nothing changes: the file is the current state
        rows = list(csv.DictReader(io.StringIO(text)))
        rows[1]["busy_enabled"], rows[1]["busy_destination"] = "yes", "202 555 0188"
        again = plan_csv(org, csv_text(rows, COLUMNS))
        (changing,) = [r for r in again.rows if r.changed]
        assert changing.person == people[1]
        assert changing.diff == [
            {"field": "busy_enabled", "old": False, "new": True},
            {"field": "busy_destination", "old": "", "new": "+12025550188"}]

    def test_formula_cells_are_defused_and_read_back(self, org):
        person = make_person(org, name="=HYPERLINK(1)", email="-x@acme.example")
        rows = list(csv.DictReader(io.StringIO(export_text(org))))
        assert rows[0]["display_name"] == "'=HYPERLINK(1)"
        assert rows[0]["email"] == "'-x@acme.example"
        (row,) = plan_csv(org, csv_text(
            [{"email": rows[0]["email"], "busy_enabled": "no"}], ("email", "busy_enabled"))).rows
        assert row.person == person and row.valid

    @pytest.mark.parametrize("text, message", [
        (b"\xff\xfe\x00", "not UTF-8"),
        ("", "The file is empty."),
        ("email,busy_enabled\n", "no rows"),
        ("email,busy_enabeld\np1@acme.example,yes\n", "Unknown column: busy_enabeld"),
        ("display_name,busy_enabled\nx,yes\n", "Add an email or a provider_person_id"),
        ("email,email\na,b\n", "Columns listed twice: email."),
    ])
    def test_problems_of_the_whole_file(self, org, people, text, message):
        result = plan_csv(org, text)
        assert result.rows == [] and message in " ".join(result.file_errors)


# --- the dry run ----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestDryRun:
    def test_each_row_valid_or_not_with_its_reasons(self, org, people):
        update(people[2], busy_enabled=True, busy_destination="2001")
        update(people[3], always_enabled=True, always_destination="+12025550001")  # -> p1
        text = csv_text([
            {"email": "p1@acme.example", "busy_enabled": "yes", "busy_destination": "2001"},
            {"email": "nobody@acme.example", "busy_enabled": "yes"},
            {"email": "p2@acme.example", "busy_enabled": "maybe", "no_answer_ring_after": "x"},
            {"email": "p3@acme.example", "busy_destination": "+1202555000"},
            {"email": "P1@ACME.EXAMPLE", "busy_enabled": "no"},
            {"email": "p5@acme.example", "continuity_enabled": "yes",
             "continuity_destination": "+12025550005"},
            {"email": "p1@acme.example", "always_enabled": "yes",
             "always_destination": "+12025550004"},
        ], ("email", "busy_enabled", "busy_destination", "no_answer_ring_after",
            "continuity_enabled", "continuity_destination", "always_enabled",
            "always_destination"))
        before = state()
        with CaptureQueriesContext(connection) as queries:
            result = plan_csv(org, text)
        assert state() == before
        writes = [q["sql"] for q in queries.captured_queries
                  if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert writes == []
        rows = result.rows
        assert [r.valid for r in rows] == [True, False, False, False, False, False, False]
        assert rows[0].diff[0] == {"field": "busy_enabled", "old": False, "new": True}
        assert rows[1].errors == {"email": ["Nobody in this organization has this email."]}
        assert rows[2].errors == {"busy_enabled": ["Write yes or no."],
                                  "no_answer_ring_after": ["Enter a whole number."]}
        # The service's own message, word for word.
        try:
            update(people[2], busy_destination="+1202555000")
        except Exception as exc:  # noqa: BLE001
            expected = exc.message_dict
        assert rows[3].errors == expected
        assert "already on line 2" in rows[4].errors["non_field_errors"][0]
        assert "calls would come straight back" in rows[5].errors[
            "continuity_destination"][0]
        # Line 8 is a second row for p1: refused as a duplicate before any loop check.
        assert "already on line 2" in rows[6].errors["non_field_errors"][0]
        assert result.valid == 1 and result.invalid == 6 and result.changing == 1

    def test_a_loop_between_two_rows_of_the_same_file(self, org, people):
        text = csv_text([
            {"email": "p1@acme.example", "always_enabled": "yes",
             "always_destination": "+12025550002"},
            {"email": "p2@acme.example", "always_enabled": "yes",
             "always_destination": "+12025550001"},
        ], ("email", "always_enabled", "always_destination"))
        rows = plan_csv(org, text).rows
        assert rows[0].valid
        assert "Person 2 → Person 1 → Person 2" in rows[1].errors["always_destination"][0]

    def test_the_version_column_catches_changes_since_the_export(self, org, people):
        text = export_text(org)
        update(people[0], busy_enabled=True, busy_destination="2001")
        rows = plan_csv(org, text).rows
        assert rows[0].errors == {"version": [
            "Changed since this file was exported: now version 2, the file has version 1."]}
        assert all(r.valid for r in rows[1:])

    def test_unsupported_features_get_the_matrix_reason(self, org, people):
        ucwa = make_org("ucwa")
        make_person(ucwa, email="u1@acme.example")
        text = csv_text([{"email": "u1@acme.example", "busy_enabled": "yes",
                          "dnd_enabled": "yes"}],
                        ("email", "busy_enabled", "dnd_enabled"))
        (row,) = plan_csv(ucwa, text).rows
        assert row.errors["busy_enabled"][0].startswith("Forward when busy is not available")
        assert row.errors["dnd_enabled"][0].startswith("Do not disturb is not available")

    def test_do_not_disturb_and_simultaneous_ring_options_columns(self, org, people):
        update(people[1], simring_enabled=True,
               simring_targets=["+12025550101", "+12025550102"])
        text = csv_text([
            {"email": "p1@acme.example", "dnd_enabled": "yes", "dnd_ring_splash": "yes"},
            {"email": "p2@acme.example", "simring_confirm": "+1 202 555 0102",
             "simring_skip_when_on_call": "yes"},
            {"email": "p3@acme.example", "simring_confirm": "+1 202 555 0199"},
        ], ("email", "dnd_enabled", "dnd_ring_splash", "simring_confirm",
            "simring_skip_when_on_call"))
        rows = plan_csv(org, text).rows
        assert [r.valid for r in rows] == [True, True, False]
        assert {d["field"] for d in rows[0].diff} == {"dnd_enabled", "dnd_ring_splash"}
        assert {"field": "simring_confirm", "old": [], "new": ["+12025550102"]} in rows[1].diff
        assert "not one of the numbers" in rows[2].errors["simring_confirm"][0]
        # The export writes them, and no schedules column: those are edited on pages/API.
        header = export_text(org).splitlines()[0].split(",")
        assert {"dnd_enabled", "dnd_ring_splash", "simring_confirm",
                "simring_skip_when_on_call"} <= set(header)
        assert "schedules" not in header

    def test_destination_length_is_the_orgs_providers(self, org, people):
        sip100 = "sip:" + "a" * 84 + "@example.com"
        rows = [{"email": "p1@acme.example", "always_enabled": "yes",
                 "always_destination": sip100}]
        columns = ("email", "always_enabled", "always_destination")
        (row,) = plan_csv(org, csv_text(rows, columns)).rows
        assert row.valid, row.errors  # Webex Calling: the portal's limit of 200
        ucwa_org = make_org("ucwa")
        make_person(ucwa_org, email="p1@ucwa.example", number="+12025550188")
        rows[0]["email"] = "p1@ucwa.example"
        (row,) = plan_csv(ucwa_org, csv_text(rows, columns)).rows
        assert row.errors["always_destination"] == [
            "Use at most 80 characters (Skype for Business (UCWA)'s limit); this one has 100."]

    def test_provider_person_id_names_the_person(self, org, people):
        text = csv_text([{"provider_person_id": people[4].provider_person_id,
                          "busy_enabled": "yes", "busy_destination": "2009"}],
                        ("provider_person_id", "busy_enabled", "busy_destination"))
        (row,) = plan_csv(org, text).rows
        assert row.person == people[4] and row.valid

    def test_people_of_another_org_are_unknown(self, org, people, other_org):
        outsider = make_person(other_org, email="p1@acme.example")
        text = csv_text([{"provider_person_id": outsider.provider_person_id,
                          "busy_enabled": "no"}], ("provider_person_id", "busy_enabled"))
        (row,) = plan_csv(org, text).rows
        assert row.person is None and "provider_person_id" in row.errors


# --- jobs ---------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestJobs:
    def test_apply_a_csv_job(self, org, people, admin_actor,
                                                       enqueued,
                                                       django_capture_on_commit_callbacks):
        text = csv_text([
            {"email": f"p{n}@acme.example", "busy_enabled": "yes",
             "busy_destination": f"+1202555{9000 + n}"} for n in range(1, 6)
        ], ("email", "busy_enabled", "busy_destination"))
        result = plan_csv(org, text)
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_create(org=org, plan=result, actor=admin_actor,
                                  kind=BulkJob.IMPORT, description="busy to the desk",
                                  filename="people.csv")
        assert [(name, queue) for name, _args, queue in enqueued] == [("bulk_apply", "bulk")]
        assert job.status == BulkJob.QUEUED
        created = AuditEvent.objects.get(event="bulk.job_created")
        assert created.data["pending"] == 5 and created.correlation_id == job.correlation_id
        # Somebody gives person 3 what the job asks between the plan and the job.
        update(people[2], busy_enabled=True, busy_destination="+12025559003")
        enqueued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            run_job(job)
        job.refresh_from_db()
        assert job.status == BulkJob.DONE and job.started_at and job.finished_at
        statuses = dict(job.rows.values_list("line", "status"))
        assert statuses == {2: "applied", 3: "applied", 4: "unchanged", 5: "applied",
                            6: "applied"}
        batches = [(queue, len(args[0])) for name, args, queue in enqueued
                   if name == "push_batch"]
        # The four applied rows' pushes, in batches, never in front of one person's edit.
        assert {queue for queue, _n in batches} == {"bulk"}
        assert sum(n for _queue, n in batches) == 4
        event = AuditEvent.objects.filter(event="forwarding.updated",
                                          correlation_id=job.correlation_id).first()
        assert event.actor_label == f"{admin_actor.label} · bulk job #{job.pk}"
        assert AuditEvent.objects.filter(event="bulk.job_finished").count() == 1
        row = job.rows.get(line=2)
        assert row.previous["busy_enabled"] is False and row.written == {
            "busy_enabled": True, "busy_destination": "+12025559001"}

    def test_a_row_that_fails_at_apply_time(self, org, people, admin_actor, enqueued):
        text = csv_text([
            {"email": "p1@acme.example", "always_enabled": "yes",
             "always_destination": "+12025550002"},
            {"email": "p3@acme.example", "busy_enabled": "yes", "busy_destination": "2001"},
        ], ("email", "always_enabled", "always_destination", "busy_enabled",
            "busy_destination"))
        job = jobs.job_create(org=org, plan=plan_csv(org, text),
                              actor=admin_actor, kind=BulkJob.IMPORT, description="x")
        update(people[1], always_enabled=True, always_destination="+12025550001")
        run_job(job)
        first, second = job.rows.order_by("line")
        assert first.status == "failed" and "forwarding loop" in first.errors[
            "always_destination"][0]
        assert second.status == "applied"
        progress = bulk_selectors.job_progress(job)
        assert progress["applied"] == 1 and progress["failed"] == 1
        assert progress["pending"] == 0

    def test_a_stale_version_row_fails_alone(self, org, people, admin_actor, enqueued):
        rows = list(csv.DictReader(io.StringIO(export_text(org))))
        for row in rows:
            row["busy_enabled"], row["busy_destination"] = "yes", "2001"
        job = jobs.job_create(
            org=org, plan=plan_csv(org, csv_text(rows, COLUMNS)),
            actor=admin_actor, kind=BulkJob.IMPORT, description="x")
        update(people[0], continuity_enabled=True, continuity_destination="2002")
        run_job(job)
        statuses = list(job.rows.order_by("line").values_list("status", flat=True))
        assert statuses == ["failed", "applied", "applied", "applied", "applied"]
        assert "Somebody else changed" in job.rows.get(line=2).errors["version"][0]

    def test_invalid_rows_are_recorded_and_never_applied(self, org, people, admin_actor,
                                                         enqueued):
        text = csv_text([{"email": "nobody@acme.example", "busy_enabled": "yes"}],
                        ("email", "busy_enabled"))
        job = jobs.job_create(org=org, plan=plan_csv(org, text),
                              actor=admin_actor, kind=BulkJob.IMPORT, description="x")
        assert job.status == BulkJob.DONE and enqueued == []
        (row,) = job.rows.all()
        assert row.status == "invalid" and "email" in row.errors

    def test_progress_counts_pushed_rows(self, org, people, admin_actor, enqueued):
        plan = plan_edit(org, [p.id for p in people[:3]], feature="busy",
                                        action="set", destination="2001")
        job = run_job(jobs.job_create(org=org, plan=plan, actor=admin_actor,
                                      kind=BulkJob.EDIT, description="busy"))
        progress = bulk_selectors.job_progress(job)
        assert progress == {"total": 3, "applied": 3, "failed": 0, "pending": 0,
                            "pushed": 0, "push_failed": 0, "processed": 3, "settled": False}
        ForwardingSettings.objects.filter(person=people[0]).update(
            synced_version=2, sync_status=SyncStatus.SYNCED)
        ForwardingSettings.objects.filter(person=people[1]).update(
            sync_status=SyncStatus.FAILED)
        progress = bulk_selectors.job_progress(job)
        assert progress["pushed"] == 1 and progress["push_failed"] == 1
        outcomes = [bulk_selectors.row_outcome(r) for r in bulk_selectors.job_rows(job)]
        assert outcomes == ["pushed", "push_failed", "applied"]
        ForwardingSettings.objects.filter(person=people[2]).update(synced_version=5)
        assert bulk_selectors.job_progress(job)["settled"] is True

    def test_a_redelivered_chunk_applies_nothing_twice(self, org, people, admin_actor,
                                                       enqueued):
        plan = plan_edit(org, [people[0].id], feature="busy", action="set",
                                        destination="2001")
        job = run_job(jobs.job_create(org=org, plan=plan, actor=admin_actor,
                                      kind=BulkJob.EDIT, description="busy"))
        ids = list(job.rows.values_list("id", flat=True))
        assert jobs.apply_rows(job_id=job.pk, row_ids=ids) == 0
        assert ForwardingSettings.objects.get(person=people[0]).version == 2

    def test_a_long_chunk_hands_its_rest_to_a_new_task(self, org, people, admin_actor,
                                                      enqueued):
        plan = plan_edit(org, [p.id for p in people], feature="busy",
                                        action="set", destination="2001")
        job = jobs.job_create(org=org, plan=plan, actor=admin_actor, kind=BulkJob.EDIT,
                              description="busy")
        ids = list(job.rows.order_by("line").values_list("id", flat=True))
        assert jobs.apply_rows(job_id=job.pk, row_ids=ids, budget=-1) == 0
        assert enqueued == [("bulk_apply", [job.pk, ids], "bulk")]

    def test_bulk_edit_turns_a_feature_off(self, org, people, admin_actor, enqueued):
        for person in people[:2]:
            update(person, busy_enabled=True, busy_destination="2001")
        plan = plan_edit(org, [p.id for p in people[:3]] + [999999],
                                        feature="busy", action="off")
        assert [r.valid for r in plan.rows] == [True, True, True, False]
        job = run_job(jobs.job_create(org=org, plan=plan, actor=admin_actor,
                                      kind=BulkJob.EDIT, description="busy off"))
        assert list(job.rows.order_by("line").values_list("status", flat=True)) == [
            "applied", "applied", "unchanged", "invalid"]
        assert not ForwardingSettings.objects.filter(busy_enabled=True).exists()

    def test_a_partners_job_acts_on_its_behalf(self, org, people, partner_org, delegation,
                                              partner_admin, enqueued):
        actor = Actor.for_user(partner_admin, via_partner=partner_org)
        plan = plan_edit(org, [people[0].id], feature="busy", action="set",
                                        destination="2001")
        job = run_job(jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.EDIT,
                                      description="busy"))
        assert job.via_partner == partner_org
        event = AuditEvent.objects.get(event="forwarding.updated", person=people[0])
        assert event.via_partner == partner_org and "(partner Partner Co)" in event.actor_label
        assert ForwardingSettings.objects.get(person=people[0]).push_via_partner == partner_org


# --- undo ---------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestUndo:
    def test_undo_gives_everyone_their_previous_settings(self, org, people, admin_actor,
                                                         enqueued):
        update(people[0], busy_enabled=True, busy_destination="2001", always_enabled=True,
               always_destination="2009")
        plan = plan_edit(org, [p.id for p in people[:3]], feature="busy",
                                        action="set", destination="+1 202 555 0199")
        job = run_job(jobs.job_create(org=org, plan=plan, actor=admin_actor,
                                      kind=BulkJob.EDIT, description="busy"))
        # Somebody changes person 2's busy destination after the job, and person 1's
        # always-forward (a field the job did not touch).
        update(people[1], busy_destination="2005")
        update(people[0], always_destination="2010")
        undo = run_job(jobs.job_undo(job=job, actor=admin_actor))
        assert undo.kind == BulkJob.UNDO and undo.undo_of == job
        rows = {r.line: r for r in undo.rows.all()}
        assert rows[1].status == "applied" and rows[3].status == "applied"
        assert rows[2].status == "failed" and rows[2].errors == {
            "busy_destination": ["Changed since the bulk job; left as it is."]}
        first = ForwardingSettings.objects.get(person=people[0])
        assert (first.busy_enabled, first.busy_destination) == (True, "2001")
        assert first.always_destination == "2010"  # not the job's: left alone
        third = ForwardingSettings.objects.get(person=people[2])
        assert (third.busy_enabled, third.busy_destination) == (False, "")
        assert ForwardingSettings.objects.get(person=people[1]).busy_destination == "2005"
        events = AuditEvent.objects.filter(event="forwarding.updated",
                                           correlation_id=undo.correlation_id)
        assert events.count() == 2
        assert all(f"bulk job #{undo.pk}" in e.actor_label for e in events)

    def test_undo_once_and_only_when_finished(self, org, people, admin_actor, enqueued):
        plan = plan_edit(org, [people[0].id], feature="busy", action="set",
                                        destination="2001")
        job = jobs.job_create(org=org, plan=plan, actor=admin_actor, kind=BulkJob.EDIT,
                              description="busy")
        with pytest.raises(Exception, match="still running"):
            jobs.job_undo(job=job, actor=admin_actor)
        run_job(job)
        undo = jobs.job_undo(job=job, actor=admin_actor)
        with pytest.raises(Exception, match=f"undone already \\(job #{undo.pk}\\)"):
            jobs.job_undo(job=job, actor=admin_actor)


# --- scale --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_10000_row_dry_run_finds_its_one_loop_and_changes_nothing(admin_user):
    # Its speed is a bench figure (bench/bulk_dry_run_memory.py --rows 10000), not a
    # timed assertion that flakes with the machine's load.
    org = make_org("webex", name="Big Co")
    Membership.objects.create(user=admin_user, org=org, role=Membership.ADMIN)
    Person.objects.bulk_create([
        Person(org=org, display_name=f"Person {n:05d}", email=f"p{n}@big.example",
               phone_number=f"+1303555{n:04d}", provider_person_id=f"big-{n}")
        for n in range(10_000)])
    ids = list(Person.objects.filter(org=org).order_by("id").values_list("id", flat=True))
    ForwardingSettings.objects.bulk_create([
        ForwardingSettings(person_id=pid, version=1, synced_version=1,
                           busy_enabled=bool(n % 2), busy_destination="2001" if n % 2 else "")
        for n, pid in enumerate(ids)])
    rows = []
    for n in range(10_000):
        row = {"email": f"p{n}@big.example", "busy_enabled": "yes",
               "busy_destination": f"+1 720 555 {n % 10000:04d}",
               "no_answer_enabled": "yes", "no_answer_destination": "2002",
               "no_answer_ring_after": "4"}
        # A chain of always-forwards through the org, so the loop check walks.
        row["always_enabled"] = "yes"
        row["always_destination"] = f"+1303555{(n + 1) % 10_000:04d}"
        rows.append(row)
    text = csv_text(rows, ("email", "busy_enabled", "busy_destination", "no_answer_enabled",
                           "no_answer_destination", "no_answer_ring_after", "always_enabled",
                           "always_destination"))
    before = state()
    result = plan_csv(org, text)
    assert state() == before
    assert len(result.rows) == 10_000
    # Row 10,000 closes the ring of always-forwards: the one loop of the file.
    assert result.invalid == 1
    assert "forwarding loop" in result.rows[-1].errors["always_destination"][0]



# --- a job whose task died ----------------------------------------------------------------------


@pytest.mark.django_db
class TestStalledJobs:
    """A worker killed with a job's apply task: Redis gives the message back only after
    its visibility timeout (an hour); the beat's check enqueues the job's rest instead."""

    def job(self, org, people, admin_actor, django_capture_on_commit_callbacks):
        plan = plan_edit(org, [p.id for p in people], feature="busy", action="set",
                         destination="+13035550100")
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_create(org=org, plan=plan, actor=admin_actor, kind=BulkJob.EDIT,
                                  description="busy")
        first = job.rows.order_by("line").first()
        jobs.apply_rows(job_id=job.pk, row_ids=[first.pk])  # then the task died
        job.refresh_from_db()
        assert job.status == BulkJob.RUNNING
        return job

    def test_a_job_without_progress_is_enqueued_again(self, org, people, admin_actor,
                                                      enqueued,
                                                      django_capture_on_commit_callbacks):
        job = self.job(org, people, admin_actor, django_capture_on_commit_callbacks)
        enqueued.clear()
        later = timezone.now() + timedelta(seconds=settings.BULK_STALLED_AFTER + 1)
        assert jobs.resume_stalled(now=later) == [job.pk]
        assert enqueued == [("bulk_apply", [job.pk, None], "bulk")]

    def test_a_job_still_making_progress_is_left_alone(self, org, people, admin_actor,
                                                       enqueued,
                                                       django_capture_on_commit_callbacks):
        self.job(org, people, admin_actor, django_capture_on_commit_callbacks)
        enqueued.clear()
        soon = timezone.now() + timedelta(seconds=settings.BULK_STALLED_AFTER - 5)
        assert jobs.resume_stalled(now=soon) == []
        assert enqueued == []

    def test_finished_and_stopped_jobs_are_left_alone(self, org, people, admin_actor,
                                                      enqueued,
                                                      django_capture_on_commit_callbacks):
        job = self.job(org, people, admin_actor, django_capture_on_commit_callbacks)
        run_job(job)
        assert job.status == BulkJob.DONE
        enqueued.clear()
        later = timezone.now() + timedelta(seconds=settings.BULK_STALLED_AFTER + 1)
        assert jobs.resume_stalled(now=later) == []
        assert enqueued == []
