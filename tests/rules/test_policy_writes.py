"""The destination policy on every write path below the pages: forwarding_update (as a
member and as an admin), restore, adopt-drift, CSV dry runs and bulk jobs, exceptions,
the audit of refusals and the listing of people a new policy forbids."""

import pytest
from django.core.exceptions import ValidationError

from forwarding.bulk import jobs
from forwarding.bulk.plan import plan_csv, plan_edit
from forwarding.models import BulkJob, BulkJobRow, DestinationPolicy, ForwardingSettings
from forwarding.rules import policy_checks, policy_services, services
from forwarding.sync import drift
from portal.audit import Actor
from portal.models import AuditEvent
from tests.cast import make_person, update

PARIS = "+33123456789"
LONDON = "+442079460000"
PREMIUM = "+19002345678"
REASON = ("International numbers outside Germany and France are not allowed by {org}'s "
          "forwarding policy; ask an org admin for an exception.")


@pytest.fixture
def acme_policy(org):
    return DestinationPolicy.objects.create(org=org, international_countries=["DE", "FR"])


def refused(person):
    return list(AuditEvent.objects.filter(event="policy.violation_refused", person=person))


def stored(person):
    return ForwardingSettings.objects.filter(person=person).values_list(
        "version", "always_destination", "busy_destination").first()


@pytest.mark.django_db
def test_a_forbidden_destination_is_refused_with_the_reason_and_audited(
        org, mia, owner_actor, acme_policy, django_capture_on_commit_callbacks):
    services.settings_for(mia)
    before = stored(mia)
    with django_capture_on_commit_callbacks(execute=True), \
            pytest.raises(ValidationError) as caught:
        update(mia, actor=owner_actor, always_enabled=True, always_destination=LONDON)
    assert caught.value.message_dict == {"always_destination": [REASON.format(org=org.name)]}
    assert stored(mia) == before
    (row,) = refused(mia)
    assert row.actor_id == owner_actor.user.pk
    assert row.data["refused"] == [{"field": "always_destination", "destination": LONDON,
                                    "code": "class", "reason": REASON.format(org=org.name)}]


@pytest.mark.django_db
def test_allowed_destinations_pass_and_nothing_is_audited(mia, owner_actor, acme_policy):
    settings = update(mia, actor=owner_actor, always_enabled=True, always_destination=PARIS,
                      busy_enabled=True, busy_destination="2001")
    assert (settings.always_destination, settings.busy_destination) == (PARIS, "2001")
    assert refused(mia) == []


@pytest.mark.django_db
def test_without_a_policy_everything_validation_allows_passes(mia):
    assert update(mia, always_enabled=True, always_destination=PREMIUM).always_enabled


@pytest.mark.django_db
def test_every_kind_of_destination_field_is_checked(org, graph_org, acme_policy):
    DestinationPolicy.objects.create(org=graph_org, international_countries=["DE", "FR"])
    person = make_person(graph_org)
    with pytest.raises(ValidationError) as caught:
        update(person, simring_enabled=True, simring_targets=[PARIS, LONDON])
    assert caught.value.message_dict["simring_targets"] == [
        "+44 20 7946 0000: " + REASON.format(org=graph_org.name)]
    with pytest.raises(ValidationError) as caught:
        update(person, rules=[{"callers": ["+13035550110"], "destination": LONDON}])
    assert list(caught.value.message_dict) == ["caller_rules-0-destination"]
    mia = make_person(org)
    with pytest.raises(ValidationError) as caught:
        update(mia, busy_enabled=True, busy_destination=PREMIUM, no_answer_enabled=True,
               no_answer_destination=LONDON, continuity_enabled=True,
               continuity_destination="+4918012345")
    assert sorted(caught.value.message_dict) == [
        "busy_destination", "continuity_destination", "no_answer_destination"]
    assert caught.value.message_dict["busy_destination"][0].startswith("Premium-rate numbers")


@pytest.mark.django_db
def test_only_destinations_a_write_brings_in_are_checked(org, mia):
    update(mia, always_enabled=True, always_destination=LONDON, busy_destination=PREMIUM)
    DestinationPolicy.objects.create(org=org, international_countries=["DE", "FR"])
    # An unrelated edit keeps the stored (now forbidden) destination ...
    assert update(mia, no_answer_enabled=True, no_answer_destination="2001").version == 3
    # ... but turning on a feature brings its stored destination in.
    with pytest.raises(ValidationError) as caught:
        update(mia, busy_enabled=True)
    assert list(caught.value.message_dict) == ["busy_destination"]


@pytest.mark.django_db
def test_an_exception_lets_one_person_through_and_is_audited(org, mia, admin_actor,
                                                            acme_policy):
    other = make_person(org)
    granted = policy_services.exception_grant(person=mia, pattern="+44 20*", note="UK office",
                                              actor=admin_actor)
    assert granted.pattern == "+4420*"
    event = AuditEvent.objects.get(event="policy.exception_granted")
    assert (event.person_id, event.new) == (mia.pk, {"pattern": "+4420*", "note": "UK office"})
    assert update(mia, always_enabled=True, always_destination=LONDON).always_enabled
    with pytest.raises(ValidationError):
        update(other, always_enabled=True, always_destination=LONDON)
    with pytest.raises(ValidationError, match="blocked|Premium"):
        update(mia, busy_enabled=True, busy_destination=PREMIUM)  # not covered
    policy_services.exception_revoke(exception=granted, actor=admin_actor)
    assert AuditEvent.objects.filter(event="policy.exception_revoked", person=mia).exists()
    with pytest.raises(ValidationError):
        update(mia, busy_enabled=True, busy_destination=LONDON)


@pytest.mark.django_db
def test_exception_patterns_are_checked(mia, admin_actor):
    with pytest.raises(ValidationError) as caught:
        policy_services.exception_grant(person=mia, pattern="44*", actor=admin_actor)
    assert "Write a pattern as +" in caught.value.message_dict["pattern"][0]
    policy_services.exception_grant(person=mia, pattern="", actor=admin_actor)
    with pytest.raises(ValidationError, match="has this exception already"):
        policy_services.exception_grant(person=mia, pattern="", actor=admin_actor)


@pytest.mark.django_db
def test_members_inside_the_org_only_binds_their_own_edits(
        org, mia, owner_actor, admin_actor):
    DestinationPolicy.objects.create(org=org, members_outside_org=False)
    colleague = make_person(org, number="+12025550999", extension="2002")
    with pytest.raises(ValidationError) as caught:
        update(mia, actor=owner_actor, always_enabled=True, always_destination="+13035550100")
    assert "lets members forward only inside the organization" in str(caught.value)
    # extensions and a colleague's number are inside the org
    update(mia, actor=owner_actor, always_enabled=True, always_destination="+12025550999")
    update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2002")
    # the admin acting for her is bound by the destination policy only
    update(mia, actor=admin_actor, always_destination="+13035550100")
    assert colleague.pk


@pytest.mark.django_db
def test_restore_of_a_forbidden_old_version_is_refused(
        org, mia, admin_actor, django_capture_on_commit_callbacks):
    update(mia, always_enabled=True, always_destination=LONDON)  # v2
    update(mia, always_enabled=False)  # v3
    DestinationPolicy.objects.create(org=org, international_countries=["DE", "FR"])
    v2 = AuditEvent.objects.get(person=mia, new__version=2)
    with django_capture_on_commit_callbacks(execute=True), \
            pytest.raises(ValidationError) as caught:
        services.forwarding_restore(person=mia, event=v2, expected_version=3,
                                    actor=admin_actor)
    assert caught.value.message_dict == {"always_destination": [REASON.format(org=org.name)]}
    assert stored(mia)[0] == 3
    assert len(refused(mia)) == 1


@pytest.mark.django_db
def test_adopting_a_forbidden_provider_state_is_refused_and_audited(org, mia, admin_actor,
                                                                    acme_policy):
    row = services.settings_for(mia)
    ForwardingSettings.objects.filter(pk=row.pk).update(
        drift_state={"always_enabled": True, "always_destination": LONDON})
    row.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        drift.adopt(settings=row, actor=admin_actor)
    assert caught.value.messages == [REASON.format(org=org.name)]
    after = ForwardingSettings.objects.get(pk=row.pk)
    assert (after.version, after.always_destination) == (row.version, "")
    assert after.drift_state is not None
    assert len(refused(mia)) == 1
    assert not AuditEvent.objects.filter(event="drift.adopted").exists()


@pytest.mark.django_db
def test_csv_dry_run_names_the_reason_on_the_row_and_emits_nothing(org, acme_policy):
    make_person(org, email="p1@acme.example")
    make_person(org, email="p2@acme.example")
    text = ("email,always_enabled,always_destination\n"
            f"p1@acme.example,yes,{LONDON}\np2@acme.example,yes,{PARIS}\n")
    plan = plan_csv(org, text)
    first, second = plan.rows
    assert first.errors == {"always_destination": [REASON.format(org=org.name)]}
    assert second.valid
    assert not AuditEvent.objects.filter(event="policy.violation_refused").exists()


@pytest.mark.django_db
def test_bulk_edit_dry_run_and_a_job_row_refused_at_apply_time(
        org, admin_actor, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(jobs, "enqueue_pending", lambda *a, **k: 0)
    people = [make_person(org) for _ in range(2)]
    edit = plan_edit(org, [p.pk for p in people], feature="busy", action="set",
                     destination=LONDON)
    assert edit.valid == 2  # no policy yet
    planned = plan_edit(org, [p.pk for p in people], feature="busy", action="set",
                       destination=LONDON)
    job = jobs.job_create(org=org, plan=planned, actor=admin_actor, kind=BulkJob.EDIT,
                          description="x")
    DestinationPolicy.objects.create(org=org, international_countries=["DE", "FR"])
    refusal = plan_edit(org, [p.pk for p in people], feature="busy", action="set",
                        destination=LONDON)
    assert refusal.valid == 0
    assert refusal.rows[0].errors["busy_destination"] == [REASON.format(org=org.name)]
    with django_capture_on_commit_callbacks(execute=True):
        jobs.apply_rows(job_id=job.pk, row_ids=list(job.rows.values_list("id", flat=True)))
    assert set(job.rows.values_list("status", flat=True)) == {BulkJobRow.FAILED}
    assert AuditEvent.objects.filter(event="policy.violation_refused").count() == 2


@pytest.mark.django_db
def test_policy_update_is_validated_and_audited_with_old_and_new(org, admin_actor):
    with pytest.raises(ValidationError) as caught:
        policy_services.policy_update(org=org, actor=admin_actor, data={
            "international_countries": ["DE", "XX"], "deny_patterns": ["+49900*", "0900"],
            "allow_mobile": "no"})
    assert set(caught.value.message_dict) == {"international_countries", "deny_patterns",
                                              "allow_mobile"}
    assert not DestinationPolicy.objects.exists()
    row = policy_services.policy_update(org=org, actor=admin_actor, data={
        "international_countries": "de, fr", "deny_patterns": "+49900*"})
    assert (row.international_countries, row.deny_patterns) == (["DE", "FR"], ["+49900*"])
    policy_services.policy_update(org=org, actor=admin_actor, data={
        "international_countries": ["DE"], "deny_patterns": ["+49900*"]})
    first, second = AuditEvent.objects.filter(event="policy.updated").order_by("id")
    assert first.old is None and first.new["international_countries"] == ["DE", "FR"]
    assert second.old["international_countries"] == ["DE", "FR"]
    assert second.new["international_countries"] == ["DE"]
    assert second.data == {"changed": ["international_countries"]}


@pytest.mark.django_db
def test_forbidden_people_lists_stored_breaches_in_pages(org, admin_actor):
    people = [make_person(org) for _ in range(5)]
    for person in people[:3]:
        update(person, always_enabled=True, always_destination=LONDON)
    update(people[3], busy_enabled=True, busy_destination=PARIS)
    policy_services.exception_grant(person=people[2], pattern="+44*", actor=admin_actor)
    policy_services.policy_update(org=org, actor=admin_actor,
                                  data={"international_countries": ["DE", "FR"]})
    breaches, after = policy_checks.forbidden_people(org, limit=1)
    assert [(b.person, b.feature, b.destination) for b in breaches] == [
        (people[0], "always", LONDON)]
    more, done = policy_checks.forbidden_people(org, after_id=after, limit=10)
    assert [b.person for b in more] == [people[1]] and done is None


@pytest.mark.django_db
def test_members_own_edit_through_services_knows_the_actor(org, mia, member):
    assert policy_checks.acts_as_member(mia, Actor.for_user(member))
    assert not policy_checks.acts_as_member(mia, Actor.system("x"))
