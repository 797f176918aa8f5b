"""The people list at any org size: counts are exact up to EXACT_COUNT_LIMIT and
estimated beyond it (said as "about" on the page, `count_is_exact` in the API), and the
search has trigram indexes to use on PostgreSQL."""

from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse

from forwarding.rules import people_lists
from portal.models import Person
from tests.cast import make_person


@pytest.fixture
def eight(org):
    return [make_person(org, name=f"Zed {n}") for n in range(8)]


@pytest.mark.django_db
class TestBoundedCount:
    def test_exact_below_the_limit(self, org, eight):
        assert people_lists.bounded_count(Person.objects.filter(org=org)) == (8, True)

    def test_an_estimate_above_the_limit_never_below_what_was_counted(self, org, eight):
        with mock.patch.object(people_lists, "EXACT_COUNT_LIMIT", 3):
            count, exact = people_lists.bounded_count(Person.objects.filter(org=org))
        assert not exact and count >= 4

    def test_the_count_reads_at_most_the_limit(self, org, eight):
        # What keeps a count of 200,000 people as cheap as one of 10,000.
        queryset = Person.objects.filter(org=org)
        with mock.patch.object(people_lists, "EXACT_COUNT_LIMIT", 3), \
                mock.patch.object(type(queryset), "count", autospec=True,
                                  side_effect=lambda qs: len(list(qs))) as count:
            people_lists.bounded_count(queryset)
        counted = count.call_args.args[0]
        assert counted.query.high_mark == 4

    @pytest.mark.parametrize(("number", "about"), [(203_412, 200_000), (10_551, 11_000),
                                                   (96, 96), (1, 1)])
    def test_an_estimate_says_two_digits(self, number, about):
        assert people_lists._about(number) == about


@pytest.mark.django_db
def test_the_page_says_about_for_an_estimate(client, org, admin_user, eight):
    client.force_login(admin_user)
    page = client.get(reverse("org_people", args=[org.id]))
    assert "8 people." in page.content.decode()
    with mock.patch.object(people_lists, "EXACT_COUNT_LIMIT", 3):
        page = client.get(reverse("org_people", args=[org.id]))
    assert page.status_code == 200
    assert "About " in page.content.decode()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_the_search_uses_a_trigram_index(org, eight):
    # The planner picks an index only when it is cheaper than the table: forbid the scan.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for lookup, index in [("display_name__icontains", "person_name_trgm_idx"),
                          ("email__icontains", "person_email_trgm_idx"),
                          ("sip_uri__icontains", "person_sip_trgm_idx"),
                          ("phone_number__contains", "person_phone_trgm_idx"),
                          ("extension__contains", "person_extension_trgm_idx")]:
        plan = Person.objects.filter(**{lookup: "zed 3"}).explain()
        assert index in plan, plan
    found = Person.objects.filter(org=org).filter(people_lists.people_search_condition("zed 3"))
    assert [p.display_name for p in found] == ["Zed 3"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
def test_the_searched_columns_are_sampled_widely_enough_for_a_stable_plan():
    """ANALYZE's default sample (30,000 rows) drew a different plan for the same search
    from one ANALYZE to the next (portal migration 0012)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = "
                       "'portal_person'::regclass AND attname IN ('display_name', 'email')")
        assert dict(cursor.fetchall()) == {"display_name": 1000, "email": 1000}


@pytest.mark.django_db
def test_a_search_says_more_than_rather_than_guess(client, org, admin_user, eight):
    client.force_login(admin_user)
    with mock.patch.object(people_lists, "FILTERED_COUNT_LIMIT", 3):
        page = client.get(reverse("org_people", args=[org.id]), {"q": "zed"})
    assert "More than 3 matches" in page.content.decode()
    assert page.content.decode().count('name="people"') == 8  # the page is not cut


@pytest.mark.django_db
class TestFilteredFew:
    """A filter few people pass (sync_status=failed, behind): its matches are found by
    id without walking the org by name, then sorted and counted from that one list."""

    @pytest.fixture
    def failed(self, org, eight):
        from forwarding.models import ForwardingSettings, SyncStatus

        people = [make_person(org, name=name) for name in ("bea", "Abe", "Cy", "abe")]
        for person in people:
            ForwardingSettings.objects.create(person=person, sync_status=SyncStatus.FAILED)
        return Person.objects.filter(org=org, forwarding__sync_status="failed").order_by(
            "display_name", "id")

    def test_pages_in_the_lists_order_with_an_exact_count(self, failed):
        matches = people_lists.narrowed_to_few(failed)
        assert isinstance(matches, people_lists.KnownMatches)
        paginator = people_lists.EstimatingPaginator(matches, 3, estimate=False)
        # The database's order (its collation), whatever Python's would be.
        expected = [p.display_name for p in failed]
        assert (paginator.count, paginator.count_is_exact) == (4, True)
        first, second = paginator.page(1), paginator.page(2)
        assert [p.display_name for p in first] + [p.display_name for p in second] == expected
        assert first.has_next() and not second.has_next()

    def test_a_page_is_fetched_by_its_ids_with_the_querysets_joins(
            self, failed, django_assert_max_num_queries):
        matches = people_lists.narrowed_to_few(failed.select_related("org", "forwarding"))
        page = people_lists.EstimatingPaginator(matches, 2, estimate=False).page(2)
        with django_assert_max_num_queries(0):
            assert all(p.forwarding.sync_status == "failed" and p.org.name for p in page)

    def test_more_than_few_keeps_the_walk_and_counts_nothing_more(self, failed):
        with mock.patch.object(people_lists, "FILTERED_COUNT_LIMIT", 2):
            matches = people_lists.narrowed_to_few(failed, limit=3)
            assert isinstance(matches, people_lists.ManyMatches)
            paginator = people_lists.EstimatingPaginator(matches, 3, estimate=False)
            with mock.patch.object(people_lists, "bounded_count") as counted:
                assert (paginator.count, paginator.count_is_exact) == (3, False)
            counted.assert_not_called()
            page = paginator.page(1)
        assert [p.display_name for p in page] == [p.display_name for p in failed][:3]
        assert page.has_next()

    def test_known_matches_past_the_filtered_limit_say_more_than(self, failed):
        with mock.patch.object(people_lists, "FILTERED_COUNT_LIMIT", 3):
            paginator = people_lists.EstimatingPaginator(
                people_lists.narrowed_to_few(failed), 2, estimate=False)
            assert (paginator.count, paginator.count_is_exact) == (4, False)

