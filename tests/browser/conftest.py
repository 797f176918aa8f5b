"""Headless Chromium (Playwright) against pytest-django's live server.

Real workers, the private Redis and the sandbox come from the integration fixtures,
imported here so a browser test can watch a bulk job being applied for real."""

import os
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures
    _no_worker_connections_left,
    broker,
    make_worker,
    private_redis,
    sandbox,
    sandbox_url,
    worker_env,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser(monkeypatch):
    """Chromium for one test. Playwright's sync API runs an event loop in this thread
    while it is open, and Django then refuses ORM calls here as "async unsafe" although
    nothing is async: allowed for the test only, and the loop is closed again before
    pytest-django flushes the database (this fixture is set up after it)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.csp_violations = []
    page.console_errors = []

    def on_console(message):
        if message.type == "error":
            page.console_errors.append(message.text)
            if "Content Security Policy" in message.text:
                page.csp_violations.append(message.text)

    page.on("console", on_console)
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, live_server, user, password="correct horse 9"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
