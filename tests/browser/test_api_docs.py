"""The interactive API docs render under the site's Content-Security-Policy, offline."""

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_the_docs_page_renders_with_the_csp_on(page, live_server, db):
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(live_server.url) and not r.url.startswith("data:") else None)
    response = page.goto(f"{live_server.url}/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    page.wait_for_selector("text=/api/v1/people/{id}/forwarding/", timeout=20000)
    assert "Call forwarding portal API" in page.inner_text(".swagger-ui .info .title")
    screenshot(page, "api-docs")
    assert page.csp_violations == []
    assert outside == [], "the docs page must work without internet"


def test_the_browsable_api_renders_with_the_csp_on(page, live_server, db):
    """DRF's own inline layout styles are allowed by their hashes: no CSP violation."""
    from tests.cast import make_org, make_person, make_user

    from .conftest import sign_in

    org = make_org("webex", name="Acme")
    member = make_user("api@acme.example", org=org, role="member")
    ada = make_person(org, user=member, name="Ada Lovelace", number="+12025550101")
    sign_in(page, live_server, member)
    response = page.goto(f"{live_server.url}/api/v1/people/")
    assert response.status == 200
    page.wait_for_selector("text=Ada Lovelace")
    # Her forwarding has DRF's edit form below it, with its own inline styles.
    response = page.goto(f"{live_server.url}/api/v1/people/{ada.pk}/forwarding/")
    assert response.status == 200
    assert "style-src-attr 'unsafe-hashes'" in response.headers["content-security-policy"]
    page.wait_for_selector("text=always_enabled")
    screenshot(page, "api-browsable-forwarding")
    assert page.csp_violations == []
