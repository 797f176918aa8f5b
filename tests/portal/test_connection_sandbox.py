"""The connect flows against the real sandbox over HTTP: the portal's views, the
sandbox's consent page answered like a browser would (its form posted back), and the
sandbox's token endpoint checking the code, the redirect URI and the PKCE verifier.
No token call is faked here."""

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from portal.models import ConnectionState, Membership, ProviderConnection
from tests.cast import make_org, make_user
from tests.integration.harness import SandboxClient
from tests.sandbox.process import start_sandbox, stop_sandbox

pytestmark = pytest.mark.django_db
PUBLIC = "https://portal.example.com"


@pytest.fixture(scope="module")
def sandbox_url():
    url, proc = start_sandbox()
    yield url
    stop_sandbox(proc)


@pytest.fixture
def sandbox(sandbox_url, settings):
    client = SandboxClient(sandbox_url)
    client.reset()
    settings.PUBLIC_URL = PUBLIC
    settings.WEBEX_CLIENT_ID, settings.WEBEX_CLIENT_SECRET = "portal-webex", "webex-s3cret"
    settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET = "portal-ms", "ms-s3cret"
    settings.MICROSOFT_LOGIN_URL = f"{sandbox_url}/login"
    client.control("POST", "webex/clients", expect=201, json={
        "clientId": "portal-webex", "clientSecret": "webex-s3cret",
        "redirectUris": [f"{PUBLIC}/connection/webex/callback"]})
    client.control("POST", "microsoft/apps", expect=201, json={
        "clientId": "portal-ms", "clientSecret": "ms-s3cret",
        "redirectUris": [f"{PUBLIC}/connection/microsoft/callback"]})
    return client


def answer_consent(url, decision, **choices):
    """What a browser does on the sandbox's consent page: read the form, post it back
    with a button; the sandbox's redirect to the portal, as a path with its query."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {unescape(n): unescape(v) for n, v in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)[1]
    target = requests.compat.urljoin(url, unescape(action))
    answer = requests.post(target, data={**fields, **choices, "decision": decision},
                           allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == PUBLIC
    return f"{location.path}?{location.query}"


@pytest.fixture
def webex_admin(client, sandbox):
    sandbox.control("POST", "webex/orgs", expect=201, json={"orgId": "acme-webex",
                                                            "name": "Acme"})
    org = make_org("webex", provider_org_id="acme-webex", base_url=f"{sandbox.url}/webex/v1",
                   credentials={})
    user = make_user(org=org, role=Membership.ADMIN, mfa=True)
    client.force_login(user)
    return org


def test_webex_consent_approved_connects_with_the_sandboxs_tokens(client, sandbox, webex_admin):
    org = webex_admin
    start = client.post(reverse("connection_webex_start", args=[org.id]))
    back = answer_consent(start["Location"], "approve", orgId="acme-webex")
    done = client.get(back)
    assert done["Location"] == reverse("connection", args=[org.id])
    conn = ProviderConnection.objects.get(org=org)
    assert conn.state == ConnectionState.CONNECTED
    assert "spark-admin:people_write" in conn.scopes.split()
    assert conn.secrets["refresh_token"] and conn.access_token
    # The token works at the sandbox's Webex API for that org.
    sandbox.control("POST", "webex/people", expect=201,
                    json={"orgId": "acme-webex", "personId": "ada"})
    assert sandbox.webex_state("ada", conn.access_token)
    html = client.get(done["Location"]).content.decode()
    assert "connected</span>, expires in 13 days" in html
    clients = sandbox.control("GET", "webex/clients", expect=200).json()
    [portal] = [c for c in clients if c["clientId"] == "portal-webex"]
    assert portal["codeExchanges"] == 1


def test_webex_consent_denied_stores_nothing(client, sandbox, webex_admin):
    start = client.post(reverse("connection_webex_start", args=[webex_admin.id]))
    back = answer_consent(start["Location"], "deny", orgId="acme-webex")
    response = client.get(back, follow=True)
    assert "consent was declined" in response.content.decode()
    assert not ProviderConnection.objects.exists()


def test_microsoft_admin_consent_then_an_app_token_from_the_sandbox(client, sandbox):
    org = make_org("graph", provider_org_id="contoso-tenant", credentials={})
    user = make_user(org=org, role=Membership.ADMIN, mfa=True)
    client.force_login(user)
    start = client.post(reverse("connection_microsoft_start", args=[org.id]))
    assert start["Location"].startswith(f"{sandbox.url}/login/contoso-tenant/adminconsent?")
    back = answer_consent(start["Location"], "approve")
    assert "admin_consent=True" in back and "tenant=contoso-tenant" in back
    client.get(back)
    conn = ProviderConnection.objects.get(org=org)
    assert conn.state == ConnectionState.CONNECTED and conn.tenant == "contoso-tenant"
    assert conn.access_token and conn.access_expires_at is not None
