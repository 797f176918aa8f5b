"""Headless Chromium (Playwright) against pytest-django's live server.

Real workers, the private Redis and the sandbox come from the integration fixtures,
imported here so a browser test can watch a bulk job being applied for real."""

import base64
import hashlib
import hmac
import os
import struct
import time
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
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture
def page(browser, request):
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
    if getattr(request.node, "browser_call_failed", False):
        # What the browser showed when the test failed, for CI's artifacts.
        try:
            screenshot(page, f"failed-{request.node.name}")
        except Exception:  # noqa: BLE001, S110 - the test's own failure matters more
            pass
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


def totp(secret, at=None, *, step=30, digits=6):
    """RFC 6238 TOTP (HMAC-SHA1), what an authenticator app shows for base32 `secret`."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


def totp_secret(user):
    """The secret of the user's TOTP authenticator, as their authenticator app holds it."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def sign_in_by_keyboard(page, live_server, user, password="correct horse 9", *, secret=None):
    """Sign in through the real form as a person would: type the email, Tab to the
    password, Enter; then, for a user with TOTP, type the current code and Enter."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("input[name=login]")
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if secret is not None:
        page.wait_for_selector("input[name=code]")
        for _attempt in range(2):
            # A code typed in the last seconds of its 30 s step may arrive after it; and
            # allauth refuses a code used before (e.g. by a rerun within the same step
            # with the same user id): both cases are cured by the next step's code.
            if 30 - time.time() % 30 < 3:
                time.sleep(30 - time.time() % 30 + 0.2)
            page.fill("input[name=code]", "")
            page.focus("input[name=code]")
            page.keyboard.type(totp(secret))
            with page.expect_navigation():
                page.keyboard.press("Enter")
            if page.locator("input[name=code]").count() == 0:
                break
            time.sleep(30 - time.time() % 30 + 0.2)
    page.wait_for_selector(f"text=Sign out ({user.email})")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
