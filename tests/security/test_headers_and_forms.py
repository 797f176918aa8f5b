"""Browser-side defences: a strict Content-Security-Policy on every HTML answer and
markup that needs no 'unsafe-inline'; CSRF on every form and every session-authenticated
write; provider credentials never sent back; production cookies that scripts cannot read
and that travel over HTTPS only.

(Sign-in rate limits: tests/portal/test_signin.py; `check --deploy`:
tests/portal/test_configuration.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.portal.production import PRODUCTION_ENV, ROOT

from .harness import client_for, is_success, rolled_back, send
from .matrix import entry_for
from .sitemap import all_urls, is_admin, is_api, view_methods
from .world import ROLES, SECRET_MARK, kwargs_for, targets

URLS = all_urls()


def _path(world, url):
    entry = entry_for(url.key, url.pattern)
    return url.path(kwargs_for(world, url, org_override=getattr(entry, "org", None)))


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


# --- Content-Security-Policy and credentials, on every GET of every role -----------------


def _directives(policy):
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.split()}


@pytest.mark.parametrize("url", [pytest.param(u, id=u.key) for u in URLS])
def test_every_answer_has_a_strict_policy_and_no_credentials(world, quiet_broker, url):
    path, failures = _path(world, url), []
    for role in ROLES:
        with rolled_back():
            response, _changes = send(client_for(world.user(role)), "GET", path)
        body = _body(response)
        where = f"GET {path} as {role} ({response.status_code})"
        if SECRET_MARK.encode() in body or SECRET_MARK in str(response.headers):
            failures.append(f"{where}: the answer contains an org's provider credentials")
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        policy = response.get("Content-Security-Policy")
        if not policy:
            failures.append(f"{where}: no Content-Security-Policy")
            continue
        directives = _directives(policy)
        scripts = directives.get("script-src", directives.get("default-src"))
        if scripts is None or {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(scripts):
            failures.append(f"{where}: script-src allows inline or any script: {policy}")
        if "'unsafe-inline'" in directives.get("style-src", []):
            failures.append(f"{where}: style-src allows inline styles: {policy}")
    assert not failures, "\n".join(failures)


def test_the_credentials_scan_would_see_a_leak(world, quiet_broker):
    """The scan above looks for the right thing: the orgs do hold the marked token."""
    world.org_a.refresh_from_db()
    assert SECRET_MARK in world.org_a.credentials["token"]


# --- markup of the main pages --------------------------------------------------------------


class Markup(HTMLParser):
    """Collects what a strict policy would block, and the post forms without a token."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self.forms = [], []
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            elif name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            elif name in ("href", "src", "action") and (value or "").strip().lower() \
                    .startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> block")
        if tag == "script":
            executable = attrs.get("type", "text/javascript") in (
                "", "text/javascript", "module", "application/javascript")
            self._script = "" if executable and not attrs.get("src") else None
        if tag == "form":
            self.forms.append({"method": (attrs.get("method") or "get").lower(),
                               "action": attrs.get("action"), "token": False})
        if tag == "input" and attrs.get("name") == "csrfmiddlewaretoken" and self.forms:
            self.forms[-1]["token"] = True

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script.strip():
                self.problems.append(f"inline <script>: {self._script.strip()[:60]!r}")
            self._script = None


def _main_pages(w):
    return [
        ("anonymous", reverse("account_login")),
        ("member", reverse("my_forwarding")),
        ("admin", reverse("org_people", args=[w.org_a.pk])),
        ("admin", reverse("person_forwarding", args=[w.bob.pk])),
        ("partner", reverse("person_forwarding", args=[w.bob.pk])),
        ("admin", reverse("person_history", args=[w.bob.pk])),
        ("admin", reverse("org_settings", args=[w.org_a.pk])),
        ("admin", reverse("bulk_import", args=[w.org_a.pk])),
        ("admin", reverse("api_docs")),
        ("admin", reverse("bulk_job", args=[w.job_a.pk])),
        ("admin", reverse("person_calls", args=[w.bob.pk])),
        ("admin", reverse("org_audit", args=[w.org_a.pk])),
    ]


def _parse(world, role, path):
    with rolled_back():
        response, _changes = send(client_for(world.user(role)), "GET", path)
    assert response.status_code == 200, f"GET {path} as {role}: {response.status_code}"
    parser = Markup()
    parser.feed(response.content.decode())
    return parser


def test_main_pages_need_no_inline_script_style_or_handler(world, quiet_broker):
    problems = []
    for role, path in _main_pages(world):
        problems += [f"{path} as {role}: {p}" for p in _parse(world, role, path).problems]
    assert not problems, "\n".join(problems)


def test_every_post_form_of_the_main_pages_carries_a_csrf_token(world, quiet_broker):
    missing, seen = [], 0
    for role, path in _main_pages(world):
        for form in _parse(world, role, path).forms:
            if form["method"] == "post":
                seen += 1
                if not form["token"]:
                    missing.append(f"{path} as {role}: <form action={form['action']}>")
    assert seen >= 8, f"only {seen} post forms found: the pages are not what this test thinks"
    assert not missing, "post forms without csrfmiddlewaretoken:\n" + "\n".join(missing)


def test_the_markup_check_sees_what_it_looks_for():
    parser = Markup()
    parser.feed('<p style="x" onclick="y"><script>alert(1)</script><script src="/a.js">'
                '</script><script type="application/json">{}</script><a href="javascript:x">'
                '<form method="post"></form>')
    assert len(parser.problems) == 4, parser.problems
    assert parser.forms == [{"method": "post", "action": None, "token": False}]


# --- CSRF on every write ---------------------------------------------------------------------

# graph_webhook: authenticated by the secret key in its URL and Graph's signed bearer token
# (Graph can send neither a cookie nor a CSRF token). api_not_found: changes nothing and
# answers every method the API's JSON 404, like the API views, which check CSRF only where
# a session could write.
CSRF_EXEMPT = {"graph_webhook", "api_not_found"}
# Who sends the forged request: someone the view would obey, so that only CSRF stops it.
_PREFERENCE = ("admin", "partner", "member", "staff", "anonymous")


def _sender(url, method):
    entry = entry_for(url.key, url.pattern)
    if is_admin(url):
        return "staff"
    for role in _PREFERENCE:
        expected = entry.expected(method, role) if entry else None
        if expected and any(is_success(v) for v in expected):
            return role
    return "anonymous" if not is_api(url) else "admin"


def _accepts(url, method):
    """True unless every role is refused the method as such (405, or sign in first)."""
    entry = entry_for(url.key, url.pattern)
    return entry is None or any(
        entry.expected(method, role) - {"405", "401", "login"} for role in ROLES)


CSRF_CASES = [pytest.param(u, m, id=f"{m} {u.key}") for u in URLS if u.key not in CSRF_EXEMPT
              for m in view_methods(u) if m != "GET" and _accepts(u, m)]


@pytest.mark.parametrize("url, method", CSRF_CASES)
def test_a_write_without_csrf_token_is_refused(world, quiet_broker, url, method):
    entry = entry_for(url.key, url.pattern)
    role = _sender(url, method)
    body = entry.data(world, role, _target(world, entry)) if entry and entry.data else None
    path = _path(world, url)
    with rolled_back():
        response, changes = send(client_for(world.user(role), enforce_csrf_checks=True),
                                 method, path, body)
    assert response.status_code == 403, (
        f"{method} {path} as {role} without a CSRF token answered {response.status_code}")
    assert b"CSRF" in _body(response), f"{method} {path}: a 403, but not from the CSRF check"
    assert not changes, f"{method} {path} without a CSRF token: {changes}"


def _target(world, entry):
    return targets(world, "a", getattr(entry, "org", None))


def test_the_same_write_with_its_token_goes_through(world, quiet_broker):
    """The refusals above are CSRF's: with the token the same request is obeyed."""
    client = client_for(world.user("admin"), enforce_csrf_checks=True)
    path = reverse("person_forwarding", args=[world.bob.pk])
    with rolled_back():
        page, _ = send(client, "GET", path)
        token = page.context["csrf_token"]
        entry = entry_for("person_forwarding", "")
        body = {**entry.data(world, "admin", _target(world, entry)),
                "csrfmiddlewaretoken": str(token)}
        response, changes = send(client, "POST", path, body)
    assert response.status_code == 302
    assert changes.rows


# --- production cookies ------------------------------------------------------------------------


def test_production_cookies_are_https_only_and_hidden_from_scripts():
    # SESSION_COOKIE_SECURE/HTTPONLY and CSRF_COOKIE_SECURE are checked in
    # tests/portal/test_configuration.py; this adds the CSRF cookie's HttpOnly (no script
    # of the site reads it: forms carry the token) and SameSite on both.
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.CSRF_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
            "s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                         env={**os.environ, **PRODUCTION_ENV}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True", "True", "Lax", "Lax"]
