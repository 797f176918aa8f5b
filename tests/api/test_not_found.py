"""Paths under /api/ that match no API URL answer the API's JSON 404 in every
configuration: with DEBUG on Django would answer its HTML technical 404 page (what
`make run` showed the fuzzer), and a missing trailing slash would redirect (GET) or fail
with an error page (POST)."""

import pytest
from django.test import Client, override_settings

PATHS = ["/api/v1/nothing/", "/api/v1/people/abc/", "/api/v1/people/-5/",
         "/api/v1/people/null,null/", "/api/v1/bulk-jobs/1.5/rows/", "/api/nope",
         "/api/v2/people/", "/api/v1/people/1/forwarding/extra/"]


def assert_json_404(response, path):
    assert response.status_code == 404, path
    assert response["Content-Type"] == "application/json", (path, response["Content-Type"])
    assert set(response.json()) == {"detail"}, path


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_path_answers_json_404(roles, debug, method):
    client = Client(raise_request_exception=False)
    client.force_login(roles.admin)
    with override_settings(DEBUG=debug):
        for path in PATHS:
            assert_json_404(getattr(client, method)(path), path)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_trailing_slash_answers_json_404_that_says_so(roles, debug):
    client = Client(raise_request_exception=False)
    client.force_login(roles.admin)
    with override_settings(DEBUG=debug):
        for method in ("get", "post"):
            response = getattr(client, method)("/api/v1/people", {})
            assert_json_404(response, "/api/v1/people")
            assert response.json()["detail"].endswith("end with a slash: /api/v1/people/")


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_anonymous_callers_get_the_same_json_404(debug):
    with override_settings(DEBUG=debug):
        assert_json_404(Client().post("/api/v1/nothing/"), "/api/v1/nothing/")


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_pages_outside_the_api_keep_the_html_404(debug):
    with override_settings(DEBUG=debug):
        response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
