"""The API in a browser: DRF's browsable renderer answers `Accept: text/html`, and every
GET of the API renders there as it does in JSON. Its filter form asked each list view
for `get_queryset()`, which the portal's views do not have (each chooses its rows inside
its handler): a browser's GET of a list answered 500 (found on `make run`)."""

import pytest
from django.test import Client

GETS = ["/api/v1/people/", "/api/v1/people/{mia}/", "/api/v1/people/{mia}/forwarding/",
        "/api/v1/people/{mia}/sync/", "/api/v1/audit-events/", "/api/v1/organizations/",
        "/api/v1/organizations/{org}/", "/api/v1/delegations/", "/api/v1/bulk-jobs/",
        "/api/v1/organizations/{org}/event-endpoints/",
        "/api/v1/organizations/{org}/policy/",
        "/api/v1/organizations/{org}/policy/exceptions/",
        "/api/v1/organizations/{org}/policy/forbidden/",
        "/api/v1/organizations/{org}/member-permissions/"]


@pytest.mark.django_db
def test_every_get_renders_in_a_browser(roles):
    client = Client(raise_request_exception=False)
    client.force_login(roles.admin)
    for template in GETS:
        path = template.format(mia=roles.mia.pk, org=roles.org.pk)
        html = client.get(path, HTTP_ACCEPT="text/html")
        as_json = client.get(path, HTTP_ACCEPT="application/json")
        assert html.status_code == as_json.status_code, (path, html.status_code)
        assert html["Content-Type"].startswith("text/html"), path
        assert html.status_code < 500, path


def _hashes_in(policy, directive_name):
    directive = next((d.strip() for d in policy.split(";")
                      if d.strip().startswith(directive_name + " ")), "")
    return {h for h in directive.split()[1:] if h.startswith("'sha256-")}


def _hash(text):
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.django_db
def test_drf_s_own_inline_styles_are_allowed_by_hash_and_nothing_else(roles):
    """DRF's base template has a <style> element (Pygments' CSS) and, on a page with a
    form, style attributes; the site's CSP refused them (a console error on every
    browsable page). Each is now allowed by its hash, on those pages only; the JSON
    answers and the site's own pages keep the plain policy."""
    import re

    client = Client()
    client.force_login(roles.admin)
    html = client.get(f"/api/v1/people/{roles.mia.pk}/forwarding/", HTTP_ACCEPT="text/html")
    policy = html["Content-Security-Policy"]
    body = html.content.decode()
    elements = re.findall(r"<style>(.*?)</style>", body, flags=re.S)
    attributes = set(re.findall(r'style="([^"]*)"', body))
    assert elements and attributes, "the page has inline styles to allow"
    for text in elements:
        assert _hash(text) in _hashes_in(policy, "style-src"), text[:60]
    for value in attributes:
        assert _hash(value) in _hashes_in(policy, "style-src-attr"), value
    assert "style-src-attr 'unsafe-hashes'" in policy
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy

    as_json = client.get("/api/v1/people/", HTTP_ACCEPT="application/json")
    page = client.get(f"/orgs/{roles.org.pk}/people/")
    for plain in (as_json, page):
        assert _hashes_in(plain["Content-Security-Policy"], "style-src") == set()
        assert "style-src-attr" not in plain["Content-Security-Policy"]
