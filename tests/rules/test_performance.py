"""One forwarding edit costs the same in an org of 5 people and in one of 200: the same
queries and the same rows read. The loop check looks up only the people behind the edit's
destinations and walks on from them (one query per step), instead of loading and
normalising the whole org (which also took a constant number of queries, but read every
person, settings row and caller rule of the org). And the people it finds are the ones the
full normalisation of the org would have found."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.models import CallerRule, DestinationPolicy, ForwardingSettings
from forwarding.rules import directory, selectors, services, validation
from portal.audit import Actor
from portal.models import Person
from tests.cast import make_org, make_person

EXTERNAL = "+13035550000"


def build_org(size, kind="webex"):
    """An org of `size` people (A, B, C, D first) whose other people are busy forwarding
    among themselves, away from A's path: what they do must not cost A's edit anything."""
    org = make_org(kind)
    people = Person.objects.bulk_create(
        Person(org=org, display_name=f"Person {n:03d}", phone_number=f"+1202555{n:04d}",
               extension=f"{2000 + n}", sip_uri=f"sip:p{n}@acme.example",
               provider_person_id=f"perf-{org.pk}-{n}")
        for n in range(size)
    )
    rows = []
    for n, person in enumerate(people):
        row = ForwardingSettings(person=person, version=1, synced_version=1)
        if n >= 4:  # the background: a chain among themselves, then out of the org
            row.always_enabled = True
            row.always_destination = people[n + 1].extension if n + 1 < size else EXTERNAL
        rows.append(row)
    ForwardingSettings.objects.bulk_create(rows)
    return org, people


def forward(person, destination, *, version=None):
    if version is None:
        version = services.settings_for(person).version
    return services.forwarding_update(
        person=person, expected_version=version, actor=Actor.system("test"),
        changes={"always_enabled": True, "always_destination": destination},
    )


class Cost:
    """Queries run and rows read while it is installed (connection.execute_wrapper)."""

    def __init__(self):
        self.queries = self.rows = 0

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        self.queries += 1
        if sql.lstrip().upper().startswith("SELECT"):
            self.rows += max(context["cursor"].rowcount, 0)
        return result


def queries_of_edit(person, destination):
    """(queries, rows read) of one forwarding_update, and the error when it is refused."""
    version = ForwardingSettings.objects.get(person=person).version
    error = None
    cost = Cost()
    with connection.execute_wrapper(cost):
        try:
            forward(person, destination, version=version)
        except ValidationError as exc:
            error = exc
    return (cost.queries, cost.rows), error


def edit_to_external(size):
    _, people = build_org(size)
    return queries_of_edit(people[0], EXTERNAL)


def edit_into_chain(size):
    """A forwards to B, who forwards to C, who forwards to D, who forwards out of the org:
    the walk reaches three people of the org."""
    _, (a, b, c, d, *_) = build_org(size)
    forward(b, c.phone_number)
    forward(c, d.sip_uri)
    forward(d, EXTERNAL)
    return queries_of_edit(a, b.extension)


def edit_closing_a_loop(size):
    _, (a, b, c, *_) = build_org(size)
    forward(b, c.phone_number)
    forward(c, a.extension)
    return queries_of_edit(a, b.sip_uri)


@pytest.mark.django_db
class TestQueriesDoNotGrowWithTheOrg:
    def test_forwarding_out_of_the_org(self):
        small, _ = edit_to_external(5)
        large, _ = edit_to_external(200)
        assert small == large
        queries, rows = large
        # Savepoint, lock the row, its caller rules, who has this number, the update, the
        # audit row, the org's event endpoints (issue 18: announced in the same
        # transaction), the push request, release (it was 13 with the full-org check), and
        # the org's destination policy (issue 18: none here, so no exceptions are read).
        # Rows: the settings row; nobody has the number.
        assert queries <= 10
        assert rows == 1

    def test_with_a_destination_policy_the_cost_does_not_grow_either(self):
        def edit_under_policy(size):
            org, people = build_org(size)
            DestinationPolicy.objects.create(org=org)
            return queries_of_edit(people[0], EXTERNAL)

        small, _ = edit_under_policy(5)
        large, _ = edit_under_policy(200)
        assert small == large
        # The policy row, the person's exceptions, and who in the org is behind the
        # number (the policy's "internal" class) besides the 10 above.
        assert large[0] <= 13

    def test_forwarding_into_a_three_hop_chain(self):
        small, error = edit_into_chain(5)
        large, _ = edit_into_chain(200)
        assert error is None
        assert small == large
        # One more lookup per person on the path (B, C, D), none for the rest of the org.
        (queries, rows), ((external_queries, _), _) = large, edit_to_external(5)
        assert queries == external_queries + 3
        assert rows == 1 + 3

    def test_a_refused_loop(self):
        small, error = edit_closing_a_loop(5)
        large, large_error = edit_closing_a_loop(200)
        assert small == large
        for exc in (error, large_error):
            assert "Person 000 → Person 001 → Person 002 → Person 000" in \
                exc.message_dict["always_destination"][0]

    def test_a_shared_index_checks_many_rows_without_a_lookup(self):
        # A bulk job builds one index of the org and hands it to every row's validation.
        org, (a, b, c, *_) = build_org(50)
        forward(b, c.phone_number)
        forward(c, a.extension)
        index = directory.LineIndex(org, preload=True)
        subject = services.subject_for(a, selectors.caps_for(a))
        current = services.values(ForwardingSettings.objects.get(person=a))
        with CaptureQueriesContext(connection) as captured:
            with pytest.raises(ValidationError) as exc:
                validation.validate_proposal(
                    subject=subject, current=current, now=timezone.now(), caller_rules=None,
                    changes={"always_enabled": True, "always_destination": b.phone_number},
                    line_index=index,
                )
        assert captured.captured_queries == []
        assert "Person 000 → Person 001 → Person 002 → Person 000" in \
            exc.value.message_dict["always_destination"][0]

    def test_an_index_of_another_org_is_refused(self):
        org, _ = build_org(3)
        _, (a, b, *_) = build_org(3)
        subject = services.subject_for(a, selectors.caps_for(a))
        current = services.values(ForwardingSettings.objects.get(person=a))
        with pytest.raises(ValueError, match="another organisation"):
            validation.validate_proposal(
                subject=subject, current=current, now=timezone.now(), caller_rules=None,
                changes={"always_enabled": True, "always_destination": b.phone_number},
                line_index=directory.LineIndex(org),
            )


# --- the people found are the ones the full normalisation finds --------------------------


def full_index(org):
    """The former way: every line of every person of the org, normalised; the first person
    in (display name, id) order owns a key shared by several."""
    index = {}
    for person in Person.objects.filter(org=org).order_by("display_name", "id"):
        for key in validation.line_keys(person, region=org.default_region):
            index.setdefault(key, person.id)
    return index


@pytest.mark.django_db
def test_the_lookup_finds_whom_the_full_normalisation_finds():
    org = make_org("webex")
    # Written around Person.save() (as an import with bulk_create might), so in the forms
    # people type; plus people sharing a line, SIP URIs in capitals, with parameters, sips:.
    Person.objects.bulk_create([
        Person(org=org, display_name=name, provider_person_id=f"eq-{org.pk}-{n}", **lines)
        for n, (name, lines) in enumerate([
            ("Ann", {"phone_number": "2025550101"}),  # national digits
            ("Ben", {"phone_number": "12025550102"}),  # with the trunk prefix
            ("Cat", {"extension": "2025550103"}),  # an extension that reads as a number
            ("Dan", {"sip_uri": "SIP:Dan@ACME.example;transport=tls"}),
            ("Eve", {"sip_uri": "sips:eve@acme.example"}),
            ("Fay", {"extension": "4001", "phone_number": "+12025550106"}),
            ("Bea", {"extension": "4001"}),  # shares Fay's extension, first by name
            ("Gus", {"extension": "1234567"}),  # reads as a (local) US number, never matches
            ("Hal", {"sip_uri": "+12025550108"}),  # a number in the SIP column
        ])
    ])
    keys = ["+12025550101", "+12025550102", "+12025550103", "sip:dan@acme.example",
            "sip:eve@acme.example", "4001", "+12025550106", "1234567", "+12025550108",
            "+12025550199", "9999", "sip:nobody@acme.example"]
    expected = full_index(org)
    index = directory.LineIndex(org)
    with CaptureQueriesContext(connection) as captured:
        index.resolve(keys)
    assert len(captured.captured_queries) == 1
    assert {k: index.person_for(k) for k in keys} == {k: expected.get(k) for k in keys}
    assert index.person_for("4001") == Person.objects.get(org=org, display_name="Bea").id
    assert index.person_for("+12025550101") is not None
    assert index.person_for("1234567") is None


@pytest.mark.django_db
def test_the_lookup_reads_each_persons_edges_like_the_full_check():
    org = make_org("graph", graph_api_version="beta")
    a, b = make_person(org, name="A"), make_person(org, name="B")
    now = timezone.now()
    settings = services.settings_for(b)
    settings.window_enabled, settings.window_destination = True, "2001"
    settings.window_end = now - timedelta(minutes=1)  # over: no edge any more
    settings.always_enabled, settings.always_destination = False, "2002"  # off: no edge
    settings.save()
    CallerRule.objects.create(settings=settings, position=1, callers=["+1"],
                              destination="2004")
    CallerRule.objects.create(settings=settings, position=0, callers=["+1"],
                              destination="2003")
    index = directory.LineIndex(org)
    index.resolve([b.phone_number])
    assert index.person_for(b.phone_number) == b.id
    assert index.targets(b.id, now) == ["2003", "2004"]
    assert index.targets(a.id, now) == []  # not loaded: nobody asked for A


@pytest.mark.django_db
class TestPersonLines:
    def test_save_stores_the_form_destinations_are_matched_in(self, org):
        person = make_person(org, number="+1 (202) 555-0142", extension="20-01",
                             sip_uri="  sip:Mia@Acme.example  ")
        person.refresh_from_db()
        assert (person.phone_number, person.extension, person.sip_uri) == (
            "+12025550142", "2001", "sip:Mia@Acme.example")

    def test_a_national_number_is_read_in_the_orgs_region(self):
        person = make_person(make_org("webex", default_region="GB"), number="020 7946 0000")
        person.refresh_from_db()
        assert person.phone_number == "+442079460000"

    def test_an_extension_stays_an_extension_and_garbage_stays_as_typed(self, org):
        person = make_person(org, number="call reception", extension="2025550100")
        person.refresh_from_db()
        assert (person.phone_number, person.extension) == ("call reception", "2025550100")

    def test_a_loop_through_a_number_typed_with_spaces_is_found(self, org):
        alice = make_person(org, name="Alice", number="(202) 555-0161")
        bob = make_person(org, name="Bob", number="+1 202 555 0162")
        forward(bob, "202 555 0161")
        with pytest.raises(ValidationError) as exc:
            forward(alice, "+1-202-555-0162")
        assert "Alice → Bob → Alice" in exc.value.message_dict["always_destination"][0]


def edit_closing_a_ring(length):
    """People 0..length-1 forward each to the next and the last to person 0, who now
    forwards to person 1: refused, and the message names the ring."""
    _, people = build_org(length + 2)
    ring = people[:length]
    for person, nxt in zip(ring[1:], [*ring[2:], ring[0]], strict=True):
        forward(person, nxt.phone_number)
    (queries, _), error = queries_of_edit(ring[0], ring[1].extension)
    names = " → ".join(p.display_name for p in [*ring, ring[0]])
    assert names in error.message_dict["always_destination"][0]
    return queries


@pytest.mark.django_db
def test_a_long_walk_loads_the_rest_of_the_org_once(monkeypatch):
    # Past MAX_WALK_STEPS steps one query for the whole org beats one more per step.
    monkeypatch.setattr(directory, "MAX_WALK_STEPS", 2)
    short = edit_closing_a_ring(3)  # lookups: person 1, then 2, then 0 (two steps)
    long = edit_closing_a_ring(8)  # person 1, two steps, then everybody at once
    assert long == short + 1
