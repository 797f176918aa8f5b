"""Offboarding from the org settings page: removing a member, unlinking an account from a
line, and changing the Teams webhook key after it reached someone who must not have it."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from forwarding.calltime import webhook_orgs
from portal.models import AuditEvent, Membership, Person
from tests.cast import make_org, make_person, make_user

pytestmark = pytest.mark.django_db


def page_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def signed_in_admin(client, admin_user):
    client.force_login(admin_user)
    return admin_user


# --- removing a member ----------------------------------------------------------------------


def test_the_settings_page_lists_members_with_their_lines_and_actions(
        client, org, member, signed_in_admin, django_assert_max_num_queries):
    for _ in range(5):
        user = make_user(org=org, role=Membership.MEMBER)
        make_person(org, user=user)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("org_settings", args=[org.id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert member.email in html and "Mia Member" in html
    mia = member.people.get()
    assert reverse("person_unlink", args=[org.id, mia.id]) in html
    membership = Membership.objects.get(user=member, org=org)
    assert reverse("member_remove", args=[org.id, membership.id]) in html


def test_a_queries_count_does_not_grow_with_members(client, org, signed_in_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("org_settings", args=[org.id])).status_code == 200
        return len(queries)

    before = count()
    for _ in range(10):
        make_person(org, user=make_user(org=org, role=Membership.MEMBER))
    assert count() == before


def test_removing_a_member_unlinks_their_line_and_cuts_their_access(
        client, org, member, signed_in_admin):
    mia = member.people.get()
    membership = Membership.objects.get(user=member, org=org)
    response = client.post(reverse("member_remove", args=[org.id, membership.id]))
    assert response.status_code == 302
    assert page_messages(response) == [f"{member.email} was removed from {org.name}."]
    assert not Membership.objects.filter(user=member, org=org).exists()
    mia.refresh_from_db()
    assert mia.user is None

    removed = AuditEvent.objects.get(event="membership.removed")
    assert (removed.org, removed.actor, removed.old) == (
        org, signed_in_admin, {"user": member.email, "user_id": member.pk, "role": "member"})
    assert removed.data == {"lines_unlinked": [mia.pk], "jobs_stopped": []}
    unlinked = AuditEvent.objects.get(event="person.unlinked")
    assert (unlinked.person, unlinked.old) == (mia, {"user": member.email,
                                                     "user_id": member.pk})
    assert removed.correlation_id == unlinked.correlation_id

    client.force_login(member)
    assert client.get(reverse("my_forwarding")).status_code == 404
    assert client.get(reverse("person_forwarding", args=[mia.id])).status_code == 404


def test_the_last_admin_cannot_be_removed(client, org, signed_in_admin):
    membership = Membership.objects.get(user=signed_in_admin, org=org)
    response = client.post(reverse("member_remove", args=[org.id, membership.id]))
    assert response.status_code == 302
    assert page_messages(response) == [
        f"{signed_in_admin.email} is the only admin of {org.name}; make someone else an "
        "admin first."]
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.filter(event="membership.removed").exists()


def test_an_admin_can_be_removed_while_another_remains(client, org, signed_in_admin):
    other = make_user(org=org, role=Membership.ADMIN, mfa=True)
    membership = Membership.objects.get(user=other, org=org)
    assert client.post(reverse("member_remove", args=[org.id, membership.id])).status_code \
        == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    client.force_login(other)
    assert client.get(reverse("org_settings", args=[org.id])).status_code == 404


def test_a_membership_of_another_org_is_not_found(client, org, other_org, signed_in_admin):
    stranger = make_user(org=other_org, role=Membership.MEMBER)
    membership = Membership.objects.get(user=stranger)
    response = client.post(reverse("member_remove", args=[org.id, membership.id]))
    assert response.status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_a_partner_cannot_offboard_the_customers_people(client, org, member, partner_admin,
                                                        delegation):
    client.force_login(partner_admin)
    mia = member.people.get()
    membership = Membership.objects.get(user=member, org=org)
    assert client.post(reverse("member_remove", args=[org.id, membership.id])).status_code \
        == 403
    assert client.post(reverse("person_unlink", args=[org.id, mia.id])).status_code == 403
    html = client.get(reverse("org_settings", args=[org.id])).content.decode()
    assert "Remove from org" not in html and "Unlink account" not in html
    assert Person.objects.get(pk=mia.pk).user == member


def test_offboarding_needs_totp(client, org, member):
    admin = make_user(org=org, role=Membership.ADMIN, mfa=False)
    client.force_login(admin)
    membership = Membership.objects.get(user=member, org=org)
    response = client.post(reverse("member_remove", args=[org.id, membership.id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert Membership.objects.filter(pk=membership.pk).exists()


# --- unlinking an account from a line ----------------------------------------------------------


def test_unlinking_a_line_keeps_the_member_but_not_the_line(client, org, member,
                                                            signed_in_admin):
    mia = member.people.get()
    response = client.post(reverse("person_unlink", args=[org.id, mia.id]))
    assert response.status_code == 302
    assert page_messages(response) == [f"{member.email} no longer owns the line of "
                                       f"{mia.display_name}."]
    mia.refresh_from_db()
    assert mia.user is None
    assert Membership.objects.filter(user=member, org=org).exists()
    event = AuditEvent.objects.get(event="person.unlinked")
    assert (event.person, event.org, event.actor, event.old) == (
        mia, org, signed_in_admin, {"user": member.email, "user_id": member.pk})
    client.force_login(member)
    assert client.get(reverse("person_forwarding", args=[mia.id])).status_code == 404


def test_unlinking_a_line_without_an_account_changes_nothing(client, org, signed_in_admin):
    bob = make_person(org, name="Bob")
    response = client.post(reverse("person_unlink", args=[org.id, bob.id]))
    assert response.status_code == 302
    assert page_messages(response) == ["No account is linked to Bob."]
    assert not AuditEvent.objects.filter(event="person.unlinked").exists()


def test_a_person_of_another_org_is_not_unlinked(client, org, other_org, signed_in_admin):
    user = make_user(org=other_org, role=Membership.MEMBER)
    theirs = make_person(other_org, user=user)
    assert client.post(reverse("person_unlink", args=[org.id, theirs.id])).status_code == 404
    assert Person.objects.get(pk=theirs.pk).user == user


# --- the Teams webhook key -------------------------------------------------------------------


@pytest.fixture
def graph_org(db):
    return make_org("graph")


@pytest.fixture
def graph_admin(client, graph_org):
    admin = make_user(org=graph_org, role=Membership.ADMIN, mfa=True)
    client.force_login(admin)
    return admin


def webhook(client, key):
    # No token: a known key gets as far as the token check (401), an unknown one 404.
    return client.post(reverse("graph_webhook", args=[key]), data=b"{not json",
                       content_type="application/json")


def test_rotating_the_webhook_key_refuses_the_old_one_at_once(client, graph_org, graph_admin):
    old = graph_org.webhook_key
    assert webhook(client, old).status_code == 401  # known, and now in the org cache
    assert webhook_orgs.org_for_webhook(old) is not None
    response = client.post(reverse("webhook_key_rotate", args=[graph_org.id]))
    assert response.status_code == 302
    graph_org.refresh_from_db()
    new = graph_org.webhook_key
    assert new != old and len(new) >= 40
    assert webhook(client, old).status_code == 404
    assert webhook(client, new).status_code == 401
    event = AuditEvent.objects.get(event="org.webhook_key_rotated")
    assert (event.org, event.actor, event.old, event.new) == (graph_org, graph_admin, None,
                                                              None)
    assert old not in str(event.data) and new not in str(event.data)
    html = client.get(reverse("org_settings", args=[graph_org.id])).content.decode()
    assert new in html and old not in html


def test_a_partner_cannot_rotate_the_webhook_key(client, graph_org, partner_org,
                                                 partner_admin):
    from portal.models import Delegation

    Delegation.objects.create(customer=graph_org, partner=partner_org)
    client.force_login(partner_admin)
    old = graph_org.webhook_key
    assert client.post(reverse("webhook_key_rotate", args=[graph_org.id])).status_code == 403
    graph_org.refresh_from_db()
    assert graph_org.webhook_key == old


def test_an_org_without_a_webhook_has_no_key_to_rotate(client, org, signed_in_admin):
    old = org.webhook_key
    response = client.post(reverse("webhook_key_rotate", args=[org.id]))
    assert response.status_code == 302
    assert page_messages(response) == [f"{org.name} has no Teams webhook."]
    org.refresh_from_db()
    assert org.webhook_key == old
    assert not AuditEvent.objects.filter(event="org.webhook_key_rotated").exists()
