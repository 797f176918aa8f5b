"""Sign in with a work account, in headless Chromium, against the sandbox's OpenID
Connect providers (Microsoft per tenant, Webex) over real HTTP: allauth fetches the
discovery document, sends the browser to the IdP's sign-in page, exchanges the code (with
PKCE) and checks the ID token against the IdP's keys.

1. a person signs in with Microsoft as their existing account and lands on their page;
2. a stranger's IdP account is refused with a page that says why;
3. an admin with TOTP signs in with Microsoft and still types the TOTP code before
   reaching anyone's settings.

Screenshots: artifacts/screenshots/signin-*.png."""

import time

import pytest

from portal.models import Membership, User
from portal.settings.identity import signin_providers
from tests.cast import make_org, make_person, make_user

from .conftest import screenshot, totp, totp_secret

pytestmark = pytest.mark.browser

TENANT = "contoso-tenant"


@pytest.fixture
def idps(settings, sandbox, live_server):
    """The portal registered at the sandbox's Microsoft (tenant TENANT) and Webex IdPs."""
    ids = {"microsoft": ("portal-ms-signin", "ms-secret"),
           "webex": ("portal-webex-signin", "webex-secret")}
    for issuer, (client_id, secret) in ids.items():
        sandbox.control("POST", "idp/clients", expect=201, json={
            "issuer": issuer, "clientId": client_id, "clientSecret": secret,
            "redirectUris": [f"{live_server.url}/accounts/oidc/{issuer}/login/callback/"]})
    settings.SOCIALACCOUNT_PROVIDERS = signin_providers(
        microsoft=(*ids["microsoft"],
                   f"{sandbox.url}/login/{TENANT}/v2.0/.well-known/openid-configuration"),
        webex=(*ids["webex"], f"{sandbox.url}/webex/v1/.well-known/openid-configuration"))
    return sandbox


def idp_user(sandbox, email, *, issuer="microsoft", verified=True, name="Ada Lovelace"):
    body = {"issuer": issuer, "email": email, "name": name, "emailVerified": verified}
    if issuer == "microsoft":
        body["tenant"] = TENANT
    return sandbox.control("POST", "idp/users", expect=201, json=body).json()


def sign_in_with(page, live_server, provider, sub):
    """Press "Sign in with <provider>", choose the account on the IdP's page, sign in."""
    page.goto(f"{live_server.url}/accounts/login/")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Sign in with {provider}").click()
    page.select_option("select[name=user]", sub)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_the_sign_in_page_offers_work_accounts(page, live_server, idps):
    page.goto(f"{live_server.url}/accounts/login/")
    for name in ("Sign in with Microsoft", "Sign in with Webex"):
        assert page.get_by_role("button", name=name).is_visible()
    screenshot(page, "signin-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    button = page.get_by_role("button", name="Sign in with Microsoft")
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "signin-390")
    assert page.csp_violations == []


def test_a_person_signs_in_with_microsoft_as_their_existing_account(page, live_server, idps,
                                                                   transactional_db):
    org = make_org("webex", name="Contoso")
    user = make_user("ada.lovelace@contoso.example", org=org, role=Membership.MEMBER)
    make_person(org, user=user, name="Ada Lovelace")
    sub = idp_user(idps, "Ada.Lovelace@contoso.example")["sub"]

    sign_in_with(page, live_server, "Microsoft", sub)
    assert page.url == f"{live_server.url}/me/"
    assert page.get_by_text(f"Sign out ({user.email})").is_visible()
    screenshot(page, "signin-microsoft-landed")
    assert page.csp_violations == []

    # The second time the link made the first time is what signs her in.
    page.context.clear_cookies()
    sign_in_with(page, live_server, "Microsoft", sub)
    assert page.url == f"{live_server.url}/me/"
    assert user.socialaccount_set.get().provider == "microsoft"


def test_a_strangers_idp_account_is_refused_with_a_clear_page(page, live_server, idps,
                                                              transactional_db):
    sub = idp_user(idps, "eve@elsewhere.example", issuer="webex", name="Eve")["sub"]
    sign_in_with(page, live_server, "Webex", sub)
    assert page.inner_text("h1") == "Not signed in"
    assert page.inner_text(".refusal").strip() == (
        "No portal account uses eve@elsewhere.example; ask your admin for an invitation.")
    screenshot(page, "signin-stranger-refused")
    assert not User.objects.filter(email="eve@elsewhere.example").exists()
    assert page.get_by_role("link", name="Back to sign in").is_visible()


def test_an_unverified_address_is_refused(page, live_server, idps, transactional_db):
    make_user("ada@contoso.example")
    sub = idp_user(idps, "ada@contoso.example", verified=False)["sub"]
    sign_in_with(page, live_server, "Microsoft", sub)
    assert "has not verified the address" in page.inner_text(".refusal") or \
        "did not give the portal an email address" in page.inner_text(".refusal")


def test_an_admin_with_totp_types_the_code_after_signing_in_with_microsoft(
        page, live_server, idps, transactional_db):
    org = make_org("webex", name="Contoso")
    admin = make_user("grace@contoso.example", org=org, role=Membership.ADMIN, mfa=True)
    bob = make_person(org, name="Bob Builder")
    sub = idp_user(idps, "grace@contoso.example", name="Grace")["sub"]

    sign_in_with(page, live_server, "Microsoft", sub)
    assert page.url == f"{live_server.url}/accounts/2fa/authenticate/"
    # Not signed in yet: another person's page sends her back to the code.
    page.goto(f"{live_server.url}/people/{bob.pk}/")
    assert page.url.startswith(f"{live_server.url}/accounts/2fa/authenticate/")
    assert page.get_by_role("button", name="Save", exact=True).count() == 0
    screenshot(page, "signin-microsoft-admin-totp")
    if 30 - time.time() % 30 < 3:  # a code typed at the end of its step may arrive late
        time.sleep(30 - time.time() % 30 + 0.2)
    page.fill("input[name=code]", totp(totp_secret(admin)))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector(f"text=Sign out ({admin.email})")
    page.goto(f"{live_server.url}/people/{bob.pk}/")
    assert page.get_by_role("button", name="Save", exact=True).is_enabled()
