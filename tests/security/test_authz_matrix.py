"""The authorization matrix: every URL of the site and the API (from the URL resolver),
every method, every role, against the table in tests/security/matrix.py.

For each cell the answer must be the one in the table, and an answer that refuses (and
any GET) must change nothing: no row, no queued task, no mail. Where the table marks a
URL as a write, an allowed request must change something, which proves that the bodies
sent to the refused roles would have done harm. Every URL that names an object is also
requested with the objects of another org: that answers 404 to everyone outside it."""

from __future__ import annotations

import pytest

from .harness import client_for, is_success, outcome, rolled_back, send
from .matrix import entry_for
from .sitemap import all_urls, view_methods
from .world import ROLES, has_objects, kwargs_for, targets

URLS = all_urls()
CASES = [pytest.param(url, method, id=f"{method} {url.key}")
         for url in URLS for method in view_methods(url)]
# Roles that see org A but are strangers to org B's objects.
CROSS_ORG_ROLES = ("member", "admin", "partner", "lonely_partner")


def _cell(world, entry, url, method, role, path, target, expected):
    """'' when the cell holds, else a line saying what went wrong."""
    body = entry.data(world, role, target) if entry.data and method != "GET" else None
    with rolled_back():
        response, changes = send(client_for(world.user(role)), method, path, body)
    got = outcome(response)
    where = f"{method} {path} as {role}"
    if got not in expected:
        want = "|".join(sorted(expected))
        return f"{where}: answered {got} ({response.status_code}), expected {want}"
    if (method == "GET" or not is_success(got)) and changes:
        return f"{where}: answered {got} but {changes}"
    if getattr(entry, "writes", False) and method != "GET" and is_success(got) and not changes:
        return f"{where}: allowed ({got}) but changed nothing; the test body would not bite"
    return ""


@pytest.mark.parametrize("url, method", CASES)
def test_matrix(world, quiet_broker, url, method):
    entry = entry_for(url.key, url.pattern)
    assert entry is not None, (
        f"{url.key!r} ({url.pattern}) has no row in tests/security/matrix.py: say who may "
        "use it")
    expected = {role: entry.expected(method, role) for role in ROLES}
    assert None not in expected.values(), (
        f"{url.key!r} has no {method} row in tests/security/matrix.py")

    path = url.path(kwargs_for(world, url, org_override=entry.org))
    target = targets(world, "a", entry.org)
    failures = [_cell(world, entry, url, method, role, path, target, expected[role])
                for role in ROLES]

    if has_objects(url):
        # The same URL with org B's objects: 404 for everyone outside org B (405 where
        # the view refuses the method whatever the object).
        other = url.path(kwargs_for(world, url, side="b"))
        target_b = targets(world, "b", None)
        for role in CROSS_ORG_ROLES:
            want = {"405"} if expected[role] == {"405"} else {"404"}
            if expected[role] == {"login"}:
                want = {"login"}
            failures.append(_cell(world, entry, url, method, role, other, target_b, want))

    failures = [f for f in failures if f]
    assert not failures, f"{len(failures)} cell(s) of {method} {url.key} differ:\n" + \
        "\n".join(failures)


def test_every_url_is_in_the_table():
    """One list of what is missing, rather than one failure per URL."""
    missing = sorted({url.key for url in URLS if entry_for(url.key, url.pattern) is None})
    assert not missing, "URLs without a row in tests/security/matrix.py: " + ", ".join(missing)


def test_the_table_names_no_url_that_is_gone():
    from .matrix import TABLE

    keys = {url.key for url in URLS}
    assert not set(TABLE) - keys, f"rows for URLs that no longer exist: {set(TABLE) - keys}"
