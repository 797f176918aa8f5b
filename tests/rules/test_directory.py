"""forwarding.rules.directory: the one answer to "who in this org is behind this
destination?", for the loop check, the Graph bot and the Lync manifest alike."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forwarding.calltime import bot, manifests
from forwarding.rules import directory, routing
from forwarding.rules.validation import line_keys
from portal.models import Person
from providers import graph
from providers.addresses import destination_key
from tests.cast import update
from tests.conftest import make_org, make_person

# Written around Person.save() (as an import with bulk_create might), so in the forms
# people type; plus people sharing a line, SIP URIs in capitals, with parameters, sips:.
PEOPLE = [
    ("Ann", {"phone_number": "2025550101"}),  # national digits
    ("Ben", {"phone_number": "12025550102"}),  # with the trunk prefix
    ("Cat", {"extension": "2025550103"}),  # an extension that reads as a number
    ("Dan", {"sip_uri": "SIP:Dan@ACME.example;transport=tls"}),
    ("Eve", {"sip_uri": "sips:eve@acme.example"}),
    ("Fay", {"extension": "4001", "phone_number": "+12025550106"}),
    ("Bea", {"extension": "4001"}),  # shares Fay's extension, first by name
    ("Gus", {"extension": "1234567"}),  # reads as a (local) US number, never matches
    ("Hal", {"sip_uri": "+12025550108"}),  # a number in the SIP column
]
DESTINATIONS = ["+12025550101", "+12025550102", "+12025550103", "sip:dan@acme.example",
                "sips:Eve@acme.example;user=phone", "4001", "+12025550106", "1234567",
                "+12025550108", "+12025550199", "9999", "sip:nobody@acme.example"]


def org_of_awkward_lines(kind="webex"):
    org = make_org(kind)
    Person.objects.bulk_create([
        Person(org=org, display_name=name, provider_person_id=f"{name.lower()}-{org.pk}",
               **lines)
        for name, lines in PEOPLE
    ])
    return org


def full_normalisation(org):
    """Every line of every person of the org, normalised; the first person in (display
    name, id) order owns a key shared by several."""
    found = {}
    for person in Person.objects.filter(org=org).order_by("display_name", "id"):
        for key in line_keys(person, region=org.default_region):
            found.setdefault(key, person.id)
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("whole_org", [False, True])
def test_people_behind_finds_whom_the_full_normalisation_finds(whole_org):
    org = org_of_awkward_lines()
    expected = full_normalisation(org)
    with CaptureQueriesContext(connection) as captured:
        found = directory.people_behind(org, DESTINATIONS, whole_org=whole_org)
    assert len(captured.captured_queries) == 1
    assert {d: p.id for d, p in found.items()} == {
        d: expected[destination_key(d)] for d in DESTINATIONS
        if destination_key(d) in expected}
    assert found["4001"].display_name == "Bea"
    assert "1234567" not in found and "9999" not in found


@pytest.mark.django_db
def test_people_behind_answers_like_the_loop_checks_index():
    org = org_of_awkward_lines()
    index = directory.LineIndex(org)
    index.resolve(destination_key(d) for d in DESTINATIONS)
    found = directory.people_behind(org, DESTINATIONS)
    assert {d: p.id for d, p in found.items()} == {
        d: index.person_for(destination_key(d)) for d in DESTINATIONS
        if index.person_for(destination_key(d)) is not None}


@pytest.mark.django_db
def test_the_lookup_compiled_once_per_shape_answers_each_org_and_key_alike():
    # The Graph bot's lookup is compiled once per number of keys and stored forms, then
    # run with each call's values: another org or other keys of the same shape must get
    # their own answer, never the first call's.
    first, second = org_of_awkward_lines(), org_of_awkward_lines()
    for org in (first, second, first):
        for destinations in (DESTINATIONS, ["+12025550101"], ["+12025550102"], ["4001"],
                             ["sip:dan@acme.example"], ["sip:eve@acme.example"]):
            expected = full_normalisation(org)
            found = directory.people_behind(org, destinations)
            assert {d: p.id for d, p in found.items()} == {
                d: expected[destination_key(d)] for d in destinations
                if destination_key(d) in expected}
            assert all(p.provider_person_id.endswith(f"-{org.pk}") for p in found.values())


@pytest.mark.django_db
def test_no_destination_no_query():
    org = make_org("webex")
    with CaptureQueriesContext(connection) as captured:
        assert directory.people_behind(org, ["", ""]) == {}
    assert captured.captured_queries == []


@pytest.mark.django_db
def test_the_whole_org_also_finds_a_line_written_around_save_with_spaces():
    # What the Lync manifest uses: it reads everybody, so it matches what the indexed
    # lookup cannot see (a number stored with spaces by an update that bypassed save()).
    org = make_org("lync")
    person = make_person(org, name="Jo", sip_uri="sip:jo@acme.example")
    Person.objects.filter(pk=person.pk).update(phone_number="+1 202 555 0177")
    assert directory.people_behind(org, ["+12025550177"]) == {}
    assert directory.people_behind(org, ["+12025550177"], whole_org=True) == {
        "+12025550177": person}


# --- the Graph bot rings whom the loop check sees behind a destination ---------------------


@pytest.mark.django_db
def test_the_bot_rings_the_teams_identity_of_every_colleague_the_directory_finds():
    # Before, the bot had its own lookup that missed a colleague stored as sips:, with a
    # number in the SIP column or with national digits: it sent the destination itself
    # as a Graph user id ("sip:eve@...") or as a phone, while the loop check knew who it was.
    org = org_of_awkward_lines("graph")
    callee = make_person(org, name="Zoe", number="+12025550150")
    destinations = ["+12025550101", "sip:eve@acme.example", "+12025550108"]
    decision = routing.Decision(targets=destinations, disposition="ring", rule="simring")
    with CaptureQueriesContext(connection) as captured:
        targets = bot.redirect_targets(org, callee, decision)
    assert len(captured.captured_queries) == 1
    ann, eve, hal = (Person.objects.get(org=org, display_name=n) for n in ("Ann", "Eve", "Hal"))
    assert [target for target, _label, _dest in targets] == [
        graph.RedirectTarget("user", p.provider_person_id, p.display_name)
        for p in (ann, eve, hal)]


@pytest.mark.django_db
def test_an_outside_number_still_rings_as_a_phone():
    org = make_org("graph")
    callee = make_person(org, name="Zoe", number="+12025550150")
    colleague = make_person(org, name="Yan", number="+12025550151",
                            provider_person_id="yan-graph-id")
    decision = routing.Decision(targets=["+442079460000", colleague.phone_number],
                                disposition="ring", rule="simring")
    assert [t for t, _l, _d in bot.redirect_targets(org, callee, decision)] == [
        graph.RedirectTarget("phone", "+442079460000", ""),
        graph.RedirectTarget("user", "yan-graph-id", "Yan"),
    ]


# --- the Lync manifest dials colleagues by their SIP URI ----------------------------------


@pytest.mark.django_db
def test_the_manifest_dials_a_colleague_by_sip_uri_and_an_outsider_by_number():
    org = make_org("lync", base_url="")
    nuria = make_person(org, name="Nuria", number="+12025550161",
                        sip_uri="sip:nuriag@contoso.com")
    jenny = make_person(org, name="Jenny", number="+12025550162",
                        sip_uri="sip:jennyl@contoso.com")
    make_person(org, name="Terry", number="+12025550163", sip_uri="sip:terrya@contoso.com")
    update(nuria, always_enabled=True, always_destination=jenny.phone_number)
    update(jenny, rules=[{"callers": ["+13035550110"], "destination": "+442079460000"},
                         {"callers": ["+13035550111"], "destination": "+12025550163"}])
    people = {p.address: p for p in manifests.lync_rules(org)}
    assert people["sip:nuriag@contoso.com"].always_destination == "sip:jennyl@contoso.com"
    assert [r.destination for r in people["sip:jennyl@contoso.com"].caller_rules] == [
        "+442079460000", "sip:terrya@contoso.com"]
