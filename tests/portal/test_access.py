"""The access helpers every page, API view and bulk view shares (`portal.access`): which
org a user administers and by which road, and the one MFA gate."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from portal import access
from portal.models import Membership
from tests.conftest import make_person, make_user


class TestAdminOrgOr404:
    def test_own_admin_gets_the_org_and_no_partner(self, org, admin_user):
        assert access.admin_org_or_404(admin_user, org.pk) == (org, None)

    def test_partner_admin_gets_the_org_and_their_partner_org(self, org, partner_org,
                                                              partner_admin, delegation):
        assert access.admin_org_or_404(partner_admin, org.pk) == (org, partner_org)

    @pytest.mark.parametrize("who", ["member", "stranger", "partner_without_delegation",
                                     "partner_after_revocation"])
    def test_anyone_else_gets_404_like_a_missing_org(self, who, org, other_org, partner_org,
                                                     partner_admin, delegation, member):
        user = {
            "member": member,
            "stranger": make_user(org=other_org, role=Membership.ADMIN, mfa=True),
            "partner_without_delegation": partner_admin,
            "partner_after_revocation": partner_admin,
        }[who]
        if who == "partner_without_delegation":
            delegation.delete()
        if who == "partner_after_revocation":
            delegation.revoked_at = timezone.now()
            delegation.save(update_fields=["revoked_at"])
        with pytest.raises(Http404):
            access.admin_org_or_404(user, org.pk)

    def test_an_org_that_does_not_exist_is_404(self, admin_user):
        with pytest.raises(Http404):
            access.admin_org_or_404(admin_user, 10**9)


class TestNeedsMfa:
    def test_nobody_needs_mfa_for_their_own_line(self, org):
        user = make_user(org=org, role=Membership.MEMBER)
        assert access.needs_mfa(user, make_person(org, user=user)) is False

    def test_someone_elses_line_needs_mfa(self, org):
        admin = make_user(org=org, role=Membership.ADMIN)
        assert access.needs_mfa(admin, make_person(org)) is True

    def test_without_a_person_any_admin_action_needs_mfa(self, org, admin_user):
        admin = make_user(org=org, role=Membership.ADMIN)
        assert access.needs_mfa(admin) is True
        assert access.needs_mfa(admin_user) is False


def _request(user):
    request = RequestFactory().post("/somewhere/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


class TestRequireMfa:
    def test_with_mfa_nothing_is_refused(self, admin_user):
        request = _request(admin_user)
        assert access.require_mfa(request, "/back/") is None
        assert list(get_messages(request)) == []

    def test_without_mfa_it_sends_to_totp_set_up_and_back(self, org):
        request = _request(make_user(org=org, role=Membership.ADMIN))
        response = access.require_mfa(request, "/orgs/1/settings/")
        assert response.status_code == 302
        assert response["Location"] == (reverse("mfa_activate_totp")
                                        + "?next=/orgs/1/settings/")
        assert [str(m) for m in get_messages(request)] == [access.MFA_NEEDED]


class TestOneReadingPerRequest:
    """Within a web request a user's admin orgs and delegations are read once; a change to
    a membership or delegation is seen at once, and outside a request (a task) every
    check reads afresh."""

    def test_a_request_reads_them_once(self, org, partner_org, partner_admin, delegation,
                                       django_assert_num_queries):
        with access.request_scope():
            with django_assert_num_queries(2):  # memberships, then delegations
                access.delegated_org_ids(partner_admin)
                access.own_admin_org_ids(partner_admin)
            with django_assert_num_queries(0):
                assert access.partner_for(partner_admin, org) == partner_org
                assert access.is_org_admin(partner_admin, org)
            with django_assert_num_queries(1):  # the orgs themselves
                assert {o.pk for o in access.manageable_orgs(partner_admin)} == {
                    org.pk, partner_org.pk}

    def test_a_revocation_in_the_same_request_is_seen(self, org, partner_admin, delegation):
        with access.request_scope():
            assert access.is_org_admin(partner_admin, org)
            delegation.revoked_at = timezone.now()
            delegation.save(update_fields=["revoked_at"])
            assert not access.is_org_admin(partner_admin, org)

    def test_a_removed_membership_in_the_same_request_is_seen(self, org, admin_user):
        with access.request_scope():
            assert org.pk in access.own_admin_org_ids(admin_user)
            Membership.objects.filter(user=admin_user, org=org).delete()
            assert org.pk not in access.own_admin_org_ids(admin_user)

    def test_outside_a_request_nothing_is_remembered(self, org, partner_admin, delegation,
                                                      django_assert_num_queries):
        with django_assert_num_queries(4):
            access.delegated_org_ids(partner_admin)
            access.delegated_org_ids(partner_admin)
        delegation.delete()  # no signal involved: a second reading finds it gone
        assert org.pk not in access.delegated_org_ids(partner_admin)

    def test_what_a_caller_changes_is_not_remembered(self, org, partner_admin, delegation):
        with access.request_scope():
            access.delegated_org_ids(partner_admin).clear()
            assert org.pk in access.delegated_org_ids(partner_admin)

    def test_each_request_reads_afresh(self, client, org, admin_user):
        client.force_login(admin_user)
        assert client.get(reverse("org_people", args=[org.pk])).status_code == 200
        Membership.objects.filter(user=admin_user, org=org).update(role=Membership.MEMBER)
        # No signal for update(): the next request reads the memberships again all the same.
        assert client.get(reverse("org_people", args=[org.pk])).status_code == 404
