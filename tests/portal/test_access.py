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
