"""Fuzz every operation of the REST API with schemathesis (v4), from the OpenAPI schema
the app itself serves at /api/schema/, through its WSGI application (in this process, so
in the test's transaction: the data below is what the API sees, and nothing is pushed).

Authenticated as an org admin with TOTP (`Authorization: Token ...`): every operation is
allowed, so requests get past the permission checks into the views. Half of the
generated path ids are swapped for ids of real objects the admin may see (the rest are
random, mostly 404), so bodies are validated against real people, orgs, delegations and
bulk jobs.

Every phase runs: the schema's examples, coverage (boundary values of every parameter:
an id one past its maximum, an empty date-time, a missing field...), random fuzzing (valid
and invalid data) and stateful sequences (ids from one answer used in the next call).
Checks: no 5xx, the status code is one the schema documents, the body matches the schema
of that status code, the Content-Type is a documented one, and a request the schema says
is invalid is refused. The app runs as `make run` serves it (DEBUG on; an int beyond 64 bits
reaching a query fails as on SQLite). Bounded and deterministic (fixed seed), so a
failure reproduces."""

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
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from forwarding.rules import services
from portal.audit import Actor
from portal.models import Delegation, Membership
from tests.cast import make_org, make_person, make_user

pytestmark = pytest.mark.fuzz

# Generated cases per operation in the fuzzing phase (examples and coverage add theirs:
# the coverage phase sends every boundary of the schema, e.g. an id one past its maximum);
# twice the 25 of the run that found the 500s, still under a second per operation.
# Stateful: scenarios, and calls per scenario.
MAX_EXAMPLES = 50
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 6
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance, negative_data_rejection]


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
def as_make_run_serves_it(settings, no_huge_ints_reach_the_database):
    """The API as `make run` serves it, where the fuzzer found its 500s and HTML pages:
    DEBUG on (Django's own 404 and 500 pages would answer what the API does not) and
    SQLite's integer range (an int beyond 64 bits reaching a query is a 500)."""
    settings.DEBUG = True


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
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True},
                   # Links between operations are inferred from the schema (an `id` in
                   # one answer is the `{id}` of another path, Location headers).
                   "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
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
def test_the_api_holds_its_schema(case, world, in_test_transaction, as_make_run_serves_it):
    use_real_ids(case, world["ids"])
    case.call_and_validate(headers={"Authorization": f"Token {world['token']}"},
                           checks=CHECKS)


def test_sequences_of_calls_hold_the_schema(world, in_test_transaction, as_make_run_serves_it):
    """The stateful phase: scenarios that list, read, change and undo, each call taking
    its ids from earlier answers."""
    headers = {"Authorization": f"Token {world['token']}"}

    class Scenarios(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Scenarios.run(settings=settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS,
        derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck)))


def test_a_malformed_id_answers_the_documented_json_404(world):
    client = Client(HTTP_AUTHORIZATION=f"Token {world['token']}")
    for path in ("/api/v1/people/null,null/", "/api/v1/people/-5/",
                 "/api/v1/bulk-jobs/abc/rows/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json", (path, response["Content-Type"])
        assert set(response.json()) == {"detail"}
