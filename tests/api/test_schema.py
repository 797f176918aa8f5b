"""The OpenAPI schema, the docs page under the CSP, token creation, and the error shape."""

import io
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from forwarding.api.errors import flatten


def test_the_schema_validates_and_documents_every_endpoint(openapi):
    paths = openapi.document["paths"]
    expected = {
        "/api/v1/people/", "/api/v1/people/{id}/", "/api/v1/people/{id}/forwarding/",
        "/api/v1/people/{id}/sync/", "/api/v1/people/{id}/sync/retry/",
        "/api/v1/audit-events/", "/api/v1/organizations/", "/api/v1/organizations/{id}/",
        "/api/v1/delegations/", "/api/v1/delegations/{id}/",
        "/api/v1/delegations/{id}/revoke/",
    }
    assert expected <= set(paths)
    for path, item in paths.items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete") and path.startswith("/api/v1/"):
                assert "401" in operation["responses"], (method, path)
    schemes = openapi.document["components"]["securitySchemes"]
    assert {"tokenAuth", "cookieAuth"} <= set(schemes)


@pytest.mark.django_db
def test_the_schema_is_served(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Call forwarding portal API"


@pytest.mark.django_db
def test_the_docs_page_has_no_inline_script_or_style(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<style" not in html and 'style="' not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert len(scripts) == 3
    assert all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    # Everything comes from this site: the sidecar's files and the init script.
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    init = client.get(re.search(r'src="(/api/docs/\?[^"]*script[^"]*)"', html).group(1)
                      .replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init.content and b"/api/schema/" in init.content


@pytest.mark.django_db
def test_drf_create_token_works_for_the_api(api, roles):
    out = io.StringIO()
    call_command("drf_create_token", roles.admin.username, stdout=out)
    key = re.search(r"([0-9a-f]{40})", out.getvalue()).group(1)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/people/").json()["count"] == 2
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    response = client.get("/api/v1/people/")
    assert response.status_code == 401 and response.json() == {"detail": "Invalid token."}


@pytest.mark.django_db
def test_session_writes_need_the_csrf_token(openapi, roles):
    from .conftest import CheckedClient

    client = CheckedClient(enforce_csrf_checks=True)
    client.schema = openapi
    client.force_login(roles.admin)
    response = client.patch(f"/api/v1/people/{roles.bob.id}/forwarding/",
                            {"version": 1}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_flatten_uses_the_service_keys():
    assert flatten({"caller_rules": [{}, {"destination": ["bad"]}],
                    "busy_enabled": ["Must be a valid boolean."]}) == {
        "caller_rules-1-destination": ["bad"], "busy_enabled": ["Must be a valid boolean."]}
    assert flatten(["whole"]) == {"non_field_errors": ["whole"]}
    assert flatten({"simring_targets": {"0": ["Not a string."]}}) == {
        "simring_targets-0": ["Not a string."]}


@pytest.mark.django_db
def test_without_api_docs_public_the_schema_and_docs_need_sign_in(api, roles, settings):
    settings.API_DOCS_PUBLIC = False
    anonymous = api()
    response = anonymous.get("/api/schema/", {"format": "json"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "paths" not in response.json()
    response = anonymous.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"
    response = anonymous.get("/api/docs/", {"script": ""})
    assert response.status_code == 302 and b"SwaggerUIBundle" not in response.content

    signed_in = api(roles.member)
    assert signed_in.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert b"swagger-ui" in signed_in.get("/api/docs/").content
    with_token = api(roles.member, token=True)
    assert with_token.get("/api/schema/", {"format": "json"}).json()["paths"]


def test_provider_names_in_the_schema_are_the_capabilities_labels(openapi):
    text = str(openapi.document["components"]["schemas"])
    assert ("In the provider's unit (rings for Webex Calling, seconds for Skype for Business "
            "(UCWA)).") in text
