"""Fuzz every operation of the REST API with schemathesis (v4), from the OpenAPI schema
the app itself serves at /api/schema/, through its WSGI application (in this process, so
in the test's transaction: the data below is what the API sees, and nothing is pushed).

Authenticated as an org admin with TOTP (`Authorization: Token ...`): every operation is
allowed, so requests get past the permission checks into the views. Half of the
generated path ids are swapped for ids of real objects the admin may see (the rest are
random, mostly 404), so bodies are validated against real people, orgs, delegations and
bulk jobs.

Checks: no 5xx, the status code is one the schema documents, the body matches the
schema of that status code and the Content-Type is a documented one. Bounded: at most
MAX_EXAMPLES generated cases per operation, deterministic, so a run takes about a minute
and a failure reproduces."""

import itertools

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from forwarding import services
from portal.audit import Actor
from portal.models import Delegation, Membership
from tests.conftest import make_org, make_person, make_user

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance]


@pytest.fixture
def in_test_transaction(world):
    """Requests reach the WSGI app directly, so Django's request_finished signal would
    close the test's connection (its transaction is not autocommit); Django's test client
    disconnects the same handler for the same reason (and connects it again after each
    request: hence after `world`, which uses that client)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db):
    """An org whose admin has TOTP, people with and without forwarding, a partner that
    this org delegated to, a customer org that delegated to this org, and a bulk job."""
    org = make_org("webex", name="Fuzz Co")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    people = [make_person(org, name=f"Fuzz {n}") for n in range(3)]
    services.forwarding_update(
        person=people[0], changes={"always_enabled": True, "always_destination": "+13035550100"},
        expected_version=1, actor=Actor.system("fuzz setup"))
    partner = make_org("webex", name="Fuzz Partner")
    customer = make_org("graph", name="Fuzz Customer")
    make_person(customer, name="Fuzz Customer Person")
    delegations = [Delegation.objects.create(customer=org, partner=partner),
                   Delegation.objects.create(customer=customer, partner=org)]
    token = Token.objects.create(user=admin).key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post(
        f"/api/v1/organizations/{org.id}/bulk-edit/", content_type="application/json",
        data={"people": [p.id for p in people], "feature": "busy", "action": "set",
              "destination": "+13035550101", "dry_run": False})
    assert response.status_code == 202, response.content
    from forwarding.models import BulkJob

    return {
        "token": token,
        "ids": {
            "people": [p.id for p in people] + [customer.people.get().id],
            "organizations": [org.id, customer.id],
            "delegations": [d.id for d in delegations],
            "bulk-jobs": list(BulkJob.objects.values_list("id", flat=True)),
        },
    }


def load_schema():
    """The schema as the app serves it. Loaded at collection (no database needed): the
    lazy `schemathesis.pytest.from_fixture` loader of schemathesis 4.32 fails under
    pytest 9 (it sets `Function._nodeid`, which pytest 9 no longer has)."""
    from portal.wsgi import application

    config = schemathesis.Config.from_dict({
        "seed": 20260101,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        # The stateful phase follows the schema's links between operations; it has none.
        "phases": {"stateful": {"enabled": False}},
    })
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application,
                                          config=config)


schema = load_schema()


_calls = itertools.count()


def use_real_ids(case, ids):
    """Swap every other generated (valid) id for the id of a real object of the path's
    kind, so bodies also meet real people, orgs and jobs instead of a 404. Alternating
    by call, not by value: the coverage phase sends many bodies with one fixed id."""
    value = routable_id(case)
    if value is None or next(_calls) % 2:
        return
    kind = case.operation.path.split("/")[3]  # /api/v1/<kind>/{id}/...
    if ids.get(kind):
        case.path_parameters["id"] = ids[kind][value % len(ids[kind])]


def routable_id(case):
    """The path id as a number when the URL routes reach the API with it (<int:pk>:
    digits only), else None. The coverage phase sends ids as strings ("0")."""
    value = (case.path_parameters or {}).get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None


@schema.parametrize()
# `world` is built once per operation and shared by its examples, on purpose: examples
# change it as a client would (a PUT bumps a version the next PUT must send).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_api_holds_its_schema(case, world, in_test_transaction):
    use_real_ids(case, world["ids"])
    checks = CHECKS
    if "id" in (case.path_parameters or {}) and routable_id(case) is None:
        # A path id that is not a number (or is negative: "-5" does not match <int:pk>)
        # never reaches the API: Django's URL resolver answers its HTML 404
        # (test_a_malformed_id_answers_the_documented_json_404).
        checks = [not_a_server_error, status_code_conformance]
    case.call_and_validate(headers={"Authorization": f"Token {world['token']}"},
                           checks=checks)


def test_a_malformed_id_answers_the_documented_json_404(world):
    client = Client(HTTP_AUTHORIZATION=f"Token {world['token']}")
    for path in ("/api/v1/people/null,null/", "/api/v1/people/-5/",
                 "/api/v1/bulk-jobs/abc/rows/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json", (path, response["Content-Type"])
        assert set(response.json()) == {"detail"}
