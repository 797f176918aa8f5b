"""The connect flows of the Connection page (Webex, Microsoft, UCWA) and disconnecting,
through the views, with the token endpoints replaced at one seam: the functions of
providers.oauth. (tests/browser/test_connection_journey.py goes through the sandbox's
real consent page and token endpoint.)"""

from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from portal.audit import Actor, Event
from portal.connections import services
from portal.models import AuditEvent, ConnectionState, Membership, ProviderConnection
from providers import oauth
from tests.cast import make_user

pytestmark = pytest.mark.django_db

WEBEX_TOKENS = oauth.TokenSet(access_token="access-Tk9-secret", expires_in=1209600,
                              refresh_token="refresh-Tk9-secret",
                              refresh_token_expires_in=7776000,
                              scope="spark-admin:people_read spark-admin:people_write")


@pytest.fixture(autouse=True)
def registrations(settings):
    settings.WEBEX_CLIENT_ID = "portal-webex"
    settings.WEBEX_CLIENT_SECRET = "webex-client-secret-value"
    settings.MICROSOFT_CLIENT_ID = "portal-ms"
    settings.MICROSOFT_CLIENT_SECRET = "ms-client-secret-value"
    settings.MICROSOFT_LOGIN_URL = "http://127.0.0.1:8025/login"
    settings.PUBLIC_URL = "https://portal.example.com"


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return admin_user


def notes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def start_webex(client, org):
    response = client.post(reverse("connection_webex_start", args=[org.id]))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    return response["Location"], query


def callback(client, name, **params):
    return client.get(reverse(name), params)


# --- Webex ----------------------------------------------------------------------------------


def test_connect_webex_sends_the_admin_to_consent_with_pkce_and_the_one_redirect_uri(
        client, org, admin):
    org.base_url = "http://127.0.0.1:8025/webex/v1"
    org.save()
    location, query = start_webex(client, org)
    assert location.startswith("http://127.0.0.1:8025/webex/v1/authorize?")
    assert query["client_id"] == ["portal-webex"]
    assert query["redirect_uri"] == ["https://portal.example.com/connection/webex/callback"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert "spark-admin:people_write" in query["scope"][0]
    flows = client.session["connection_flows"]
    assert flows[query["state"][0]]["org"] == org.id
    # The verifier stays here; only its S256 challenge went out.
    assert flows[query["state"][0]]["verifier"] not in location


def test_webex_callback_connects_and_says_so(client, org, admin):
    _location, query = start_webex(client, org)
    state = query["state"][0]
    verifier = client.session["connection_flows"][state]["verifier"]
    with mock.patch.object(oauth, "webex_exchange_code", return_value=WEBEX_TOKENS) as ask:
        response = callback(client, "connection_webex_callback", code="the-code", state=state)
    assert response.status_code == 302
    assert response["Location"] == reverse("connection", args=[org.id])
    assert ask.call_args.kwargs["code"] == "the-code"
    assert ask.call_args.kwargs["code_verifier"] == verifier
    assert ask.call_args.kwargs["redirect_uri"] == \
        "https://portal.example.com/connection/webex/callback"
    conn = ProviderConnection.objects.get(org=org)
    assert conn.state == ConnectionState.CONNECTED and conn.access_token == "access-Tk9-secret"
    assert conn.connected_by == admin
    assert notes(response) == [f"Webex Calling is connected for {org.name}."]
    assert AuditEvent.objects.filter(org=org, event=Event.CONNECTION_CONNECTED,
                                     actor=admin).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "connected</span>, expires in 13 days" in page
    assert "ends in 89 days" in page
    assert "Tk9-secret" not in page


def test_a_state_is_used_once(client, org, admin):
    _location, query = start_webex(client, org)
    state = query["state"][0]
    with mock.patch.object(oauth, "webex_exchange_code", return_value=WEBEX_TOKENS) as ask:
        callback(client, "connection_webex_callback", code="c1", state=state)
        again = callback(client, "connection_webex_callback", code="c2", state=state)
    assert again.status_code == 400
    assert "cannot be finished" in again.content.decode()
    assert ask.call_count == 1


@pytest.mark.parametrize("state", ["", "forged-state"])
def test_a_callback_without_this_browsers_state_stores_nothing(client, org, admin, state):
    start_webex(client, org)
    with mock.patch.object(oauth, "webex_exchange_code", return_value=WEBEX_TOKENS) as ask:
        response = callback(client, "connection_webex_callback", code="c", state=state)
    assert response.status_code == 400
    assert not ask.called
    assert not ProviderConnection.objects.exists()


def test_declined_consent_is_a_clear_message_and_nothing_is_stored(client, org, admin):
    _location, query = start_webex(client, org)
    with mock.patch.object(oauth, "webex_exchange_code") as ask:
        response = callback(client, "connection_webex_callback", error="access_denied",
                            state=query["state"][0])
    assert response["Location"] == reverse("connection", args=[org.id])
    assert notes(response) == [
        "The connection was not made: consent was declined at the provider."]
    assert not ask.called and not ProviderConnection.objects.exists()


def test_a_refused_code_is_a_clear_message_and_nothing_is_stored(client, org, admin):
    _location, query = start_webex(client, org)
    refusal = oauth.TokenError("Webex refused the token request (invalid_grant): code used.",
                               needs_reauthorization=True)
    with mock.patch.object(oauth, "webex_exchange_code", side_effect=refusal):
        response = callback(client, "connection_webex_callback", code="old",
                            state=query["state"][0])
    assert notes(response) == ["Webex Calling was not connected: Webex refused the token "
                               "request (invalid_grant): code used."]
    assert not ProviderConnection.objects.exists()
    assert not AuditEvent.objects.filter(event=Event.CONNECTION_CONNECTED).exists()


def test_an_admin_removed_meanwhile_cannot_finish(client, org, admin):
    _location, query = start_webex(client, org)
    Membership.objects.filter(user=admin, org=org).delete()
    with mock.patch.object(oauth, "webex_exchange_code", return_value=WEBEX_TOKENS) as ask:
        response = callback(client, "connection_webex_callback", code="c",
                            state=query["state"][0])
    assert response.status_code == 404
    assert not ask.called and not ProviderConnection.objects.exists()


def test_a_webex_state_does_not_finish_a_microsoft_callback(client, org, admin):
    _location, query = start_webex(client, org)
    with mock.patch.object(oauth, "graph_app_token") as ask:
        response = callback(client, "connection_microsoft_callback", admin_consent="True",
                            tenant="t", state=query["state"][0])
    assert response.status_code == 400 and not ask.called


def test_without_a_webex_registration_the_admin_is_told(client, org, admin, settings):
    settings.WEBEX_CLIENT_ID = ""
    response = client.post(reverse("connection_webex_start", args=[org.id]))
    assert response["Location"] == reverse("connection", args=[org.id])
    assert "no Webex integration configured" in notes(response)[0]


# --- Microsoft ------------------------------------------------------------------------------


def test_microsoft_admin_consent_then_an_app_token(client, graph_org, admin_user, admin):
    Membership.objects.create(user=admin_user, org=graph_org, role=Membership.ADMIN)
    response = client.post(reverse("connection_microsoft_start", args=[graph_org.id]))
    location = urlsplit(response["Location"])
    assert location.path == f"/login/{graph_org.provider_org_id}/adminconsent"
    query = parse_qs(location.query)
    assert query["redirect_uri"] == [
        "https://portal.example.com/connection/microsoft/callback"]
    tokens = oauth.TokenSet(access_token="app-token", expires_in=3599)
    with mock.patch.object(oauth, "graph_app_token", return_value=tokens) as ask:
        response = callback(client, "connection_microsoft_callback", admin_consent="True",
                            tenant=graph_org.provider_org_id, state=query["state"][0])
    assert notes(response) == [f"Microsoft Teams is connected for {graph_org.name}."]
    assert ask.call_args.kwargs["tenant"] == graph_org.provider_org_id
    conn = ProviderConnection.objects.get(org=graph_org)
    assert conn.state == ConnectionState.CONNECTED and conn.tenant == graph_org.provider_org_id


def test_consent_from_another_tenant_is_refused(client, graph_org, admin_user, admin):
    Membership.objects.create(user=admin_user, org=graph_org, role=Membership.ADMIN)
    response = client.post(reverse("connection_microsoft_start", args=[graph_org.id]))
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    with mock.patch.object(oauth, "graph_app_token") as ask:
        response = callback(client, "connection_microsoft_callback", admin_consent="True",
                            tenant="someone-else", state=state)
    assert "Consent came from tenant someone-else" in notes(response)[0]
    assert not ask.called and not ProviderConnection.objects.exists()


def test_microsoft_declined(client, graph_org, admin_user, admin):
    Membership.objects.create(user=admin_user, org=graph_org, role=Membership.ADMIN)
    response = client.post(reverse("connection_microsoft_start", args=[graph_org.id]))
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    response = callback(client, "connection_microsoft_callback", error="access_denied",
                        error_description="AADSTS65004: User declined to consent.",
                        state=state)
    assert notes(response) == [
        "The connection was not made: consent was declined at the provider."]
    assert not ProviderConnection.objects.exists()


# --- UCWA -----------------------------------------------------------------------------------


@pytest.fixture
def ucwa_admin(client, ucwa_org):
    user = make_user(org=ucwa_org, role=Membership.ADMIN, mfa=True)
    client.force_login(user)
    return user


def ucwa_form(**changes):
    return {"token_url": "http://127.0.0.1:8025/ucwa/WebTicket/oauthtoken",
            "username": "svc-forwarding", "password": "Sw0rdfish-secret", **changes}


def test_ucwa_service_account_connects(client, ucwa_org, ucwa_admin):
    tokens = oauth.TokenSet(access_token="cwt=abc", expires_in=28800)
    with mock.patch.object(oauth, "ucwa_password_token", return_value=tokens) as ask:
        response = client.post(reverse("connection_ucwa", args=[ucwa_org.id]), ucwa_form())
    assert response.status_code == 302
    assert ask.call_args.kwargs == {"username": "svc-forwarding",
                                    "password": "Sw0rdfish-secret"}
    conn = ProviderConnection.objects.get(org=ucwa_org)
    assert conn.username == "svc-forwarding" and conn.secrets["password"] == "Sw0rdfish-secret"
    page = client.get(reverse("connection", args=[ucwa_org.id])).content.decode()
    assert "svc-forwarding" in page and "Sw0rdfish-secret" not in page


def test_ucwa_errors_sit_next_to_their_fields_and_the_password_is_not_shown_back(
        client, ucwa_org, ucwa_admin):
    with mock.patch.object(oauth, "ucwa_password_token") as ask:
        response = client.post(reverse("connection_ucwa", args=[ucwa_org.id]),
                               ucwa_form(token_url="https://evil.example.net/token",
                                         username=""))
    html = response.content.decode()
    assert response.status_code == 400 and not ask.called
    assert 'id="id_token_url_error"' in html and 'id="id_username_error"' in html
    assert "Sw0rdfish-secret" not in html


def test_ucwa_refused_account_is_shown_on_the_form(client, ucwa_org, ucwa_admin):
    refusal = oauth.TokenError("UCWA refused the token request (invalid_grant).",
                               needs_reauthorization=True)
    with mock.patch.object(oauth, "ucwa_password_token", side_effect=refusal):
        response = client.post(reverse("connection_ucwa", args=[ucwa_org.id]), ucwa_form())
    html = response.content.decode()
    assert response.status_code == 400
    assert "The token endpoint refused the service account" in html
    assert "Sw0rdfish-secret" not in html
    assert not ProviderConnection.objects.exists()


# --- disconnecting --------------------------------------------------------------------------


def test_disconnect_asks_first_then_forgets_the_tokens(client, org, admin):
    services.connect_static(org, token="tok-to-forget", actor=Actor.for_user(admin))
    page = client.get(reverse("connection_disconnect", args=[org.id]))
    assert page.status_code == 200 and "Disconnect Webex Calling" in page.content.decode()
    assert ProviderConnection.objects.get(org=org).state == ConnectionState.CONNECTED
    response = client.post(reverse("connection_disconnect", args=[org.id]))
    assert response["Location"] == reverse("connection", args=[org.id])
    conn = ProviderConnection.objects.get(org=org)
    assert conn.state == ConnectionState.DISCONNECTED and conn.secrets == {}
    assert AuditEvent.objects.filter(org=org, event=Event.CONNECTION_DISCONNECTED,
                                     actor=admin).count() == 1


def test_the_page_lets_its_connect_button_lead_to_the_provider_only(client, org, admin):
    """Browsers apply form-action to the redirect after a POST: the provider's origin
    must be listed on the Connection page (and on no other page)."""
    org.base_url = "http://127.0.0.1:8025/webex/v1"
    org.save()
    policy = client.get(reverse("connection", args=[org.id]))["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:8025;" in policy
    other = client.get(reverse("org_settings", args=[org.id]))["Content-Security-Policy"]
    assert "form-action 'self';" in other


def test_a_base_url_that_is_not_allowed_is_a_message_not_an_error(client, org, admin):
    org.base_url = "https://evil.example.net/v1"
    org.save()
    response = client.post(reverse("connection_webex_start", args=[org.id]))
    assert response["Location"] == reverse("connection", args=[org.id])
    assert "not allowed" in notes(response)[0]
