"""The people API filtered by sync_status within one org walks the status's index in name
order (people_lists.StatusWalk): the settings row's copy of its person's org and name is
kept by PostgreSQL triggers whatever writes either table (migration 0019), and the list
gives exactly the rows, order and counts of people ordered by display name."""

from unittest import mock

import pytest
from django.db import connection
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext

from forwarding.bulk import selectors as bulk_selectors
from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import people_lists
from portal.models import Membership, Person
from tests.cast import make_org, make_person

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the copies are kept by PostgreSQL triggers"),
]

BEHIND = Q(forwarding__version__gt=F("forwarding__synced_version")) & ~Q(
    forwarding__sync_status=SyncStatus.FAILED)


def copy_of(person):
    return ForwardingSettings.objects.filter(person=person).values_list(
        "person_org_id", "person_name").get()


def settings_for(person, **fields):
    return ForwardingSettings.objects.create(person=person, **fields)


class TestTheCopyIsKept:
    def test_a_new_row_takes_its_persons_org_and_name(self, org):
        person = make_person(org, name="Ada Lovelace")
        settings_for(person)
        assert copy_of(person) == (org.id, "Ada Lovelace")

    def test_a_row_inserted_by_raw_sql_whatever_it_says(self, org):
        other = make_org()
        template = settings_for(make_person(org, name="Template"))
        person = make_person(org, name="Grace Hopper")
        columns = [f.column for f in ForwardingSettings._meta.concrete_fields
                   if not f.primary_key and f.column not in (
                       "person_id", "person_org_id", "person_name")]
        listed = ", ".join(columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO forwarding_forwardingsettings "  # noqa: S608
                f"(person_id, person_org_id, person_name, {listed}) "
                f"SELECT %s, %s, 'Somebody Else', {listed} "
                f"FROM forwarding_forwardingsettings WHERE id = %s",
                [person.id, other.id, template.id])
        assert copy_of(person) == (org.id, "Grace Hopper")

    def test_a_rename_by_the_orm_and_by_raw_sql(self, org):
        person = make_person(org, name="Alan Turing")
        settings_for(person)
        person.display_name = "Alan M. Turing"
        person.save()
        assert copy_of(person) == (org.id, "Alan M. Turing")
        with connection.cursor() as cursor:
            cursor.execute("UPDATE portal_person SET display_name = 'A. Turing' WHERE id = %s",
                           [person.id])
        assert copy_of(person) == (org.id, "A. Turing")

    def test_a_person_moved_to_another_org(self, org):
        other = make_org()
        person = make_person(org, name="Edsger Dijkstra")
        settings_for(person)
        Person.objects.filter(pk=person.pk).update(org=other)
        assert copy_of(person) == (other.id, "Edsger Dijkstra")

    def test_a_stale_full_save_does_not_bring_the_old_name_back(self, org):
        person = make_person(org, name="Barbara Liskov")
        stale = settings_for(person)
        stale.refresh_from_db()
        Person.objects.filter(pk=person.pk).update(display_name="Barbara H. Liskov")
        stale.busy_enabled = True
        stale.save()  # every column, the copy as it was read
        assert copy_of(person) == (org.id, "Barbara H. Liskov")

    def test_a_write_of_the_copy_itself_is_overruled(self, org):
        other = make_org()
        person = make_person(org, name="Donald Knuth")
        settings_for(person)
        ForwardingSettings.objects.filter(person=person).update(
            person_org_id=other.id, person_name="Nobody")
        assert copy_of(person) == (org.id, "Donald Knuth")


# Names whose order depends on the collation (case, accents, spaces, ties broken by id).
NAMES = ["bea", "Abe", "Cy", "abe", "Émile", "emile", "Zoë", "zoe", "Same", "Same", "Same",
         "de Groot", "DeGroot", "Ødegaard", "  Spaced", "Mia Member", "Bob Builder"]
STATUSES = [SyncStatus.FAILED, SyncStatus.PENDING, SyncStatus.RETRYING, SyncStatus.SYNCED,
            SyncStatus.WAITING, SyncStatus.PUSHING, SyncStatus.NOT_PUSHED]


@pytest.fixture
def crowd(roles):
    """People of Acme in every status, behind or not, and some without settings; a few
    of Globex, so the org's condition matters."""
    for n, name in enumerate(NAMES * 2):
        org = roles.other_org if n % 9 == 4 else roles.org
        person = make_person(org, name=name)
        if n % 7 == 6:
            continue  # no settings: in no status
        status = STATUSES[n % len(STATUSES)]
        synced = 1 if n % 3 else 2  # version 2: behind when synced_version is 1
        settings_for(person, version=2, synced_version=synced, sync_status=status)
    return roles


def reference(org, status):
    people = Person.objects.filter(org=org).order_by("display_name", "id")
    if status == "behind":
        return list(people.filter(BEHIND))
    return list(people.filter(forwarding__sync_status=status))


def walk_all(client, params, page_size):
    """Every page of the API's list: (ids in order, count, count_is_exact) of page 1."""
    ids, page, first = [], 1, None
    while True:
        body = client.get("/api/v1/people/", {**params, "page_size": page_size,
                                              "page": page}).json()
        first = first or body
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            return ids, first["count"], first["count_is_exact"]
        page += 1


class TestTheSameListAsByName:
    @pytest.mark.parametrize("status", [*SyncStatus.values, "behind"])
    def test_rows_order_and_count(self, api, crowd, status):
        expected = [p.id for p in reference(crowd.org, status)]
        for role, params in [("admin", {"org": crowd.org.id}), ("admin", {}),
                             ("partner", {"org": crowd.org.id})]:
            got = walk_all(api(getattr(crowd, role)), {**params, "sync_status": status}, 3)
            assert got == (expected, len(expected), True), (role, params)

    def test_a_member_sees_only_their_own_line(self, api, crowd):
        settings_for(crowd.mia, sync_status=SyncStatus.FAILED)
        ids, count, exact = walk_all(api(crowd.member), {"org": crowd.org.id,
                                                         "sync_status": "failed"}, 3)
        assert (ids, count, exact) == ([crowd.mia.id], 1, True)

    def test_more_than_the_limit_says_more_than_and_pages_on(self, api, crowd):
        expected = [p.id for p in reference(crowd.org, "behind")]
        assert len(expected) > 4
        with mock.patch.object(people_lists, "FILTERED_COUNT_LIMIT", 3):
            got = walk_all(api(crowd.admin), {"org": crowd.org.id, "sync_status": "behind"}, 2)
        assert got == (expected, 4, False)

    def test_renamed_and_moved_people_are_found_where_they_now_are(self, api, crowd):
        before = reference(crowd.org, SyncStatus.FAILED)
        person = before[0]
        # After the last name in any collation: a string sorts after its own prefix.
        Person.objects.filter(pk=person.pk).update(display_name=f"{before[-1]} zz")
        client = api(crowd.admin)
        params = {"org": crowd.org.id, "sync_status": "failed"}
        expected = [p.id for p in reference(crowd.org, SyncStatus.FAILED)]
        assert expected[-1] == person.id  # it moved in the order
        assert walk_all(client, params, 3)[0] == expected
        Person.objects.filter(pk=person.pk).update(org=crowd.other_org)
        assert walk_all(client, params, 3)[0] == expected[:expected.index(person.id)] + \
            expected[expected.index(person.id) + 1:]
        stranger = api(crowd.stranger)  # Globex's admin
        elsewhere = {**params, "org": crowd.other_org.id}
        assert walk_all(stranger, elsewhere, 3)[0] == [
            p.id for p in reference(crowd.other_org, SyncStatus.FAILED)]
        assert person.id in walk_all(stranger, elsewhere, 3)[0]


class TestThePath:
    def test_within_one_org_its_admin_walks_the_settings(self, crowd):
        for org_id in (crowd.org.id, None):  # None: the admin's only org
            walk = bulk_selectors.people_list_for(crowd.admin, org_id=org_id,
                                                  sync_status="behind")
            assert isinstance(walk, people_lists.StatusWalk)
        walk = bulk_selectors.people_list_for(crowd.partner, org_id=crowd.org.id,
                                              sync_status="failed")
        assert isinstance(walk, people_lists.StatusWalk)

    def test_a_search_a_members_lines_or_several_orgs_narrow_to_the_few(self, crowd):
        def path(user, **kwargs):
            return type(bulk_selectors.people_list_for(user, sync_status="failed", **kwargs))

        assert path(crowd.admin, query="abe") is people_lists.KnownMatches
        assert path(crowd.member, org_id=crowd.org.id) is people_lists.KnownMatches
        assert path(crowd.partner) is people_lists.KnownMatches  # its own org and Acme
        Membership.objects.create(user=crowd.admin, org=crowd.other_org,
                                  role=Membership.ADMIN)
        assert path(crowd.admin) is people_lists.KnownMatches

    def test_own_lines_in_another_org_are_not_left_out(self, api, crowd):
        mine = make_person(crowd.other_org, user=crowd.admin, name="Admin Elsewhere")
        settings_for(mine, sync_status=SyncStatus.FAILED)
        ids = walk_all(api(crowd.admin), {"sync_status": "failed"}, 50)[0]
        assert mine.id in ids

    @pytest.mark.parametrize(("status", "index"), [("behind", "fwd_behind_name_idx"),
                                                   ("failed", "fwd_status_name_idx")])
    def test_a_page_and_the_count_read_the_index(self, crowd, status, index):
        walk = bulk_selectors.people_list_for(crowd.admin, org_id=crowd.org.id,
                                              sync_status=status)
        with CaptureQueriesContext(connection) as ran:
            walk.count()
            walk[2:4]
        count, page_ids = ran.captured_queries[0]["sql"], ran.captured_queries[1]["sql"]
        # Forbid a sort and a scan of the table: only an index in the list's order can
        # then answer, and the planner must be able to prove the partial index applies.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
            for sql in (count, page_ids):
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert f"Scan using {index} on" in plan and "Sort" not in plan, plan
