"""Sign in with a work account (Microsoft, Webex through allauth's OpenID Connect
provider): who an identity provider's account signs in as (portal.adapters), run through
allauth's own login flow with the claims an ID token or userinfo would carry. The same
journeys against the sandbox's identity providers, over HTTP, are in
tests/browser/test_work_account_journeys.py."""

import pytest
from allauth.core import context
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.urls import reverse

from portal.audit import Event
from portal.models import AuditEvent, Membership, User
from portal.settings.identity import signin_providers
from tests.cast import make_user
from tests.portal.production import run_manage

pytestmark = pytest.mark.django_db

DISCOVERY = "http://idp.invalid/.well-known/openid-configuration"  # never fetched here


@pytest.fixture(autouse=True)
def _providers(settings):
    settings.SOCIALACCOUNT_PROVIDERS = signin_providers(
        microsoft=("ms-client", "ms-secret", DISCOVERY),
        webex=("webex-client", "webex-secret", DISCOVERY))


def _request(rf, user=None, path="/accounts/oidc/microsoft/login/callback/"):
    request = rf.get(path)
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    request.user = user or AnonymousUser()
    return request


def _claims(provider, email, *, verified=True, sub="sub-1"):
    """What each IdP states: Microsoft's ID token (email only when verified, and
    xms_edov), Webex's userinfo (email_verified)."""
    if provider == "microsoft":
        claims = {"sub": sub, "name": "Ada", "xms_edov": verified}
        return {"id_token": {**claims, "email": email}}
    return {"userinfo": {"sub": sub, "name": "Ada", "email": email, "email_verified": verified}}


def sign_in(rf, provider, data, *, user=None, process="login"):
    """allauth's login flow from the moment the IdP's answer is decoded."""
    request = _request(rf, user, f"/accounts/oidc/{provider}/login/callback/")
    with context.request_context(request):
        app_provider = get_adapter().get_provider(request, provider)
        sociallogin = app_provider.sociallogin_from_response(request, data)
        sociallogin.state = {"process": process}
        response = complete_social_login(request, sociallogin)
    return request, response


def signed_in_as(request):
    return request.session.get("_auth_user_id")


def test_a_verified_microsoft_address_signs_into_the_account_that_uses_it(rf):
    ada = make_user("ada.lovelace@example.com")
    request, response = sign_in(rf, "microsoft",
                                _claims("microsoft", "  Ada.Lovelace@EXAMPLE.com"))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert signed_in_as(request) == str(ada.pk)
    account = SocialAccount.objects.get()
    assert (account.user, account.provider, account.uid) == (ada, "microsoft", "sub-1")
    row = AuditEvent.objects.get(event=Event.IDENTITY_LINKED)
    assert (row.actor, row.actor_label, row.org, row.person) == (ada, ada.email, None, None)
    assert row.new == {"provider": "microsoft", "uid": "sub-1", "email": ada.email}


def test_a_linked_account_signs_in_as_its_user_without_a_second_link(rf):
    ada = make_user("ada@example.com")
    sign_in(rf, "webex", _claims("webex", "ada@example.com"))
    # Later the IdP's address changed: the link, not the address, says who this is.
    request, response = sign_in(rf, "webex", _claims("webex", "countess@example.org",
                                                     verified=False))
    assert response.status_code == 302 and signed_in_as(request) == str(ada.pk)
    assert SocialAccount.objects.count() == 1
    assert AuditEvent.objects.filter(event=Event.IDENTITY_LINKED).count() == 1


def test_a_stranger_is_refused_with_a_page_that_says_why_and_nobody_is_signed_up(rf):
    make_user("ada@example.com")
    request, response = sign_in(rf, "microsoft", _claims("microsoft", "eve@example.com"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "No portal account uses eve@example.com; ask your admin for an invitation." in text
    assert "signup" not in text.lower()
    assert signed_in_as(request) is None
    assert not User.objects.filter(email="eve@example.com").exists()
    assert not SocialAccount.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("provider, data", [
    # Microsoft: the address is there but the tenant does not own its domain.
    ("microsoft", {"id_token": {"sub": "s", "email": "ada@example.com", "xms_edov": False}}),
    # Microsoft without xms_edov (the optional claim not configured): not verified.
    ("microsoft", {"id_token": {"sub": "s", "email": "ada@example.com"}}),
    ("webex", {"userinfo": {"sub": "s", "email": "ada@example.com", "email_verified": False}}),
    ("webex", {"userinfo": {"sub": "s", "email": "ada@example.com"}}),
    # xms_edov is Microsoft's word; another IdP's use of it proves nothing.
    ("webex", {"userinfo": {"sub": "s", "email": "ada@example.com", "xms_edov": True}}),
])
def test_an_unverified_address_is_refused_with_its_own_sentence(rf, provider, data):
    make_user("ada@example.com")
    request, response = sign_in(rf, provider, data)
    assert response.status_code == 403
    text = response.content.decode()
    assert "has not verified the address ada@example.com" in text
    assert signed_in_as(request) is None and not SocialAccount.objects.exists()


def test_email_verified_may_be_the_string_true(rf):
    ada = make_user("ada@example.com")
    request, _ = sign_in(rf, "webex", {"userinfo": {"sub": "s", "email": "ada@example.com",
                                                     "email_verified": "true"}})
    assert signed_in_as(request) == str(ada.pk)


def test_no_address_at_all_is_refused(rf):
    request, response = sign_in(rf, "microsoft", {"id_token": {"sub": "s", "xms_edov": True}})
    assert response.status_code == 403
    assert "did not give the portal an email address" in response.content.decode()


def test_addresses_match_only_after_the_portals_one_normalization(rf):
    # U+212A KELVIN SIGN folds to "k" in Python's lower(): not the same address here.
    make_user("kim@example.com")
    request, response = sign_in(rf, "microsoft", _claims("microsoft", "\u212aim@example.com"))
    assert response.status_code == 403 and signed_in_as(request) is None


def test_a_deactivated_account_is_not_signed_into(rf):
    ada = make_user("ada@example.com")
    User.objects.filter(pk=ada.pk).update(is_active=False)
    request, response = sign_in(rf, "microsoft", _claims("microsoft", "ada@example.com"))
    assert response.status_code == 403 and not SocialAccount.objects.exists()


def test_an_admin_with_totp_still_meets_the_totp_gate(rf, org):
    admin = make_user("admin@example.com", org=org, role=Membership.ADMIN, mfa=True)
    request, response = sign_in(rf, "microsoft", _claims("microsoft", "admin@example.com"))
    # Linked, but not signed in: allauth's MFA stage asks for the code first.
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    assert signed_in_as(request) is None
    assert SocialAccount.objects.get().user == admin


def test_linking_while_signed_in_needs_the_same_verified_address(rf):
    ada = make_user("ada@example.com")
    _request_, response = sign_in(rf, "webex", _claims("webex", "someone.else@example.com"),
                                  user=ada, process="connect")
    assert response.status_code == 403
    assert "can only be linked to the portal account that uses" in response.content.decode()
    assert not SocialAccount.objects.exists()
    _request_, response = sign_in(rf, "webex", _claims("webex", "ADA@example.com"),
                                  user=ada, process="connect")
    assert response.status_code == 302 and SocialAccount.objects.get().user == ada
    assert AuditEvent.objects.filter(event=Event.IDENTITY_LINKED, actor=ada).count() == 1


def test_the_sign_in_page_offers_only_the_configured_providers(client, settings):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" in page and "Sign in with Webex" in page
    assert 'action="/accounts/oidc/microsoft/login/?process=login"' in page
    settings.SOCIALACCOUNT_PROVIDERS = signin_providers(
        microsoft=("", "", DISCOVERY), webex=("webex-client", "s", DISCOVERY))
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" not in page and "Sign in with Webex" in page
    settings.SOCIALACCOUNT_PROVIDERS = signin_providers()
    page = client.get(reverse("account_login")).content.decode()
    assert "work account" not in page


def test_signin_providers_configuration():
    apps = signin_providers(microsoft=("id", "secret", DISCOVERY))["openid_connect"]["APPS"]
    assert [a["provider_id"] for a in apps] == ["microsoft"]
    assert apps[0]["settings"]["oauth_pkce_enabled"] is True
    assert apps[0]["settings"]["fetch_userinfo"] is False  # the ID token has xms_edov


def test_a_microsoft_client_without_a_fixed_tenant_stops_start_up():
    result = run_manage("check", env_overrides={"SIGNIN_MICROSOFT_CLIENT_ID": "x",
                                                "SIGNIN_MICROSOFT_TENANT": "common"})
    assert result.returncode != 0 and "SIGNIN_MICROSOFT_TENANT" in result.stderr
    result = run_manage("check", env_overrides={"SIGNIN_MICROSOFT_CLIENT_ID": "x",
                                                "SIGNIN_MICROSOFT_TENANT": "contoso.com"})
    assert result.returncode == 0, result.stderr
