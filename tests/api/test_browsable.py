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
