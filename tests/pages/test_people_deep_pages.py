"""A deep page of the people list (issue 17): its ids are read first, in the list's order
from the index alone, then its own rows with their joins, so that page 40 of an org of
200,000 people costs what it costs at 10,000 (forwarding.rules.people_lists.slice_rows)."""

from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse

from forwarding.models import ForwardingSettings
from forwarding.rules import people_lists
from portal.models import Person
from tests.cast import make_person

# Names that repeat, so that the id decides between equals, and that sort differently
# from their creation order.
NAMES = ["Cy", "abe", "Bea", "Abe", "cy", "Bea", "Dee", "Abe", "eve", "Bea", "Al", "Cy"]


@pytest.fixture
def people(org):
    made = [make_person(org, name=name) for name in NAMES]
    for person in made[::3]:
        ForwardingSettings.objects.create(person=person, busy_enabled=True,
                                          busy_destination="+13035550100")
    return made


def _names(rows):
    return [(p.display_name, p.pk) for p in rows]


@pytest.mark.django_db
class TestDeepPages:
    @pytest.fixture(autouse=True)
    def shallow_threshold(self):
        with mock.patch.object(people_lists, "DEFERRED_JOIN_FROM", 4):
            yield

    def test_every_page_holds_the_rows_of_a_plain_slice_in_order(self, org, people):
        listed = people_lists.people_list(org)
        expected = _names(listed)  # the database's order and collation
        paginator = people_lists.EstimatingPaginator(listed, 3)
        pages = [paginator.page(n) for n in paginator.page_range]
        assert [row for page in pages for row in _names(page)] == expected
        assert len(pages) == 4 and not pages[-1].has_next()

    def test_a_deep_page_is_two_queries_and_its_joins_come_with_it(
            self, org, people, django_assert_num_queries):
        listed = people_lists.people_list(org)
        paginator = people_lists.EstimatingPaginator(listed, 3)
        paginator.count  # noqa: B018 (counted apart from the page)
        with django_assert_num_queries(2):  # the page's ids, then its rows
            page = list(paginator.page(3))
        with django_assert_num_queries(0):
            seen = [(p.org.name, getattr(p, "forwarding", None)) for p in page]
        assert len(seen) == 3

    def test_a_shallow_page_stays_one_query(self, org, people, django_assert_num_queries):
        paginator = people_lists.EstimatingPaginator(people_lists.people_list(org), 3)
        paginator.count  # noqa: B018
        with django_assert_num_queries(1):
            assert len(list(paginator.page(1))) == 3

    def test_a_searched_list_s_first_page_reads_its_ids_before_its_joins(
            self, org, people, django_assert_num_queries):
        """A search's matches are all sorted before the LIMIT: in one statement
        PostgreSQL joined every match's settings first (4,000 at 200,000 people)."""
        searched = people_lists.people_list(org, query="bea")
        expected = _names(searched)
        paginator = people_lists.EstimatingPaginator(searched, 2, estimate=False)
        paginator.count  # noqa: B018
        with django_assert_num_queries(2) as queries:  # the ids, then their rows
            page = list(paginator.page(1))
        ids_sql = queries.captured_queries[0]["sql"]
        assert " JOIN " not in ids_sql and "LIKE" in ids_sql.upper(), ids_sql
        assert _names(page) == expected[:2]
        with django_assert_num_queries(0):
            assert all(p.org.name for p in page)

    def test_a_person_removed_between_the_two_steps_is_left_out(self, org, people):
        listed = people_lists.people_list(org)
        ids = list(listed.values_list("pk", flat=True)[4:7])
        Person.objects.filter(pk=ids[1]).delete()
        assert [p.pk for p in people_lists.rows_by_ids(listed, ids)] == [ids[0], ids[2]]

    def test_the_page_and_the_api_show_the_deep_page(self, client, org, admin_user, people):
        client.force_login(admin_user)
        expected = [p.display_name for p in people_lists.people_list(org)]
        with mock.patch("forwarding.pages.views.PAGE_SIZE", 5):
            html = client.get(reverse("org_people", args=[org.id]), {"page": 2}).content
        shown = html.decode()
        positions = [shown.find(f">{name}<") for name in expected[5:10]]
        assert all(p >= 0 for p in positions), positions
        api = client.get("/api/v1/people/", {"org": org.id, "page": 2, "page_size": 5})
        assert api.status_code == 200, api.content
        assert [p["display_name"] for p in api.json()["results"]] == expected[5:10]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_the_ids_come_in_order_from_the_list_index_without_a_sort(org, people):
    # A dozen rows here, where the planner would rather sort whatever it finds: forbid
    # the table scan and sorting, as their cost forbids them at 200,000 people. A plan
    # without a Sort then exists only if an index holds the whole order.
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
    plan = people_lists.people_list(org).values_list("pk", flat=True)[4:7].explain()
    assert "person_org_name_id_idx" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.django_db
def test_a_list_not_ordered_last_by_id_is_refused_rather_than_paged_wrongly():
    """Ties in the name alone could give the ids and the rows different orders, so a deep
    page would repeat or skip someone: slice_rows says so instead of guessing."""
    slice_rows = people_lists.slice_rows
    for order in [("display_name",), ("id", "display_name"), ()]:
        with pytest.raises(ValueError, match="primary key"):
            slice_rows(Person.objects.order_by(*order), 0, 50)
    for order in [("display_name", "id"), ("display_name", "-pk"), ("-id",)]:
        assert slice_rows(Person.objects.order_by(*order), 0, 50) == []
