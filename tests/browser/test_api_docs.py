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
