"""Fixtures of the API tests: every role, and a client whose every response is checked
against the OpenAPI schema that drf-spectacular generates from the code.

The schema itself is validated once (drf_spectacular.validation, the OpenAPI 3.0 meta
schema); each response must then be documented for its path, method and status, and a
JSON body must match the documented schema (jsonschema, with OpenAPI's `nullable`
translated to JSON Schema)."""

from __future__ import annotations

import copy
import re

import jsonschema
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.models import Delegation, Membership
from tests.cast import make_org, make_person, make_user

# (method, path template) of every response the tests saw, for the coverage summary.
SEEN: set[tuple[str, str]] = set()


# --- the schema ---------------------------------------------------------------------------------


def _json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema (nullable -> null allowed)."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


class Schema:
    def __init__(self, document):
        self.document = document
        self.components = _json_schema(document.get("components", {}))
        self.routes = []
        for template, item in document["paths"].items():
            pattern = "".join(
                "[^/]+" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", template))
            self.routes.append((re.compile(f"^{pattern}$"), template, item))

    def operation(self, method, path):
        for pattern, template, item in self.routes:
            if pattern.match(path):
                operation = item.get(method.lower())
                assert operation is not None, f"{method} {template} is not in the schema"
                return template, operation
        raise AssertionError(f"{path} is not in the schema")

    def check(self, response):
        request = response.wsgi_request
        template, operation = self.operation(request.method, request.path)
        SEEN.add((request.method.upper(), template))
        code = str(response.status_code)
        documented = operation["responses"]
        assert code in documented, (
            f"{request.method} {template} answered {code}, which the schema does not list "
            f"({sorted(documented)}): {getattr(response, 'content', b'')[:300]!r}")
        content = documented[code].get("content")
        media = (response.get("Content-Type") or "").split(";")[0].strip()
        if not content:
            assert not response.content or response.status_code == 204, (
                f"{request.method} {template} {code}: a body the schema does not describe")
            return
        assert media in content, f"{request.method} {template} {code}: {media} not in schema"
        if media != "application/json":
            return
        body_schema = content[media].get("schema")
        if body_schema is None:
            return
        root = {"components": self.components, "allOf": [_json_schema(body_schema)]}
        try:
            jsonschema.validate(response.json(), root, cls=jsonschema.Draft202012Validator)
        except jsonschema.ValidationError as exc:
            raise AssertionError(
                f"{request.method} {template} {code} does not match the schema: "
                f"{exc.message} at {list(exc.absolute_path)}") from None


@pytest.fixture(scope="session")
def openapi():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    document = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(copy.deepcopy(document))
    return Schema(document)


class CheckedClient(APIClient):
    """An APIClient whose every answer from /api/ is checked against the schema."""

    schema: Schema = None

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        if response.wsgi_request.path.startswith("/api/v1/"):
            self.schema.check(response)
        return response


@pytest.fixture
def api(openapi):
    """api(user) -> a client signed in as `user` (session), api() -> anonymous;
    api(user, token=True) -> Authorization: Token."""

    def factory(user=None, *, token=False):
        client = CheckedClient(enforce_csrf_checks=False)
        client.schema = openapi
        if user is not None:
            if token:
                key, _ = Token.objects.get_or_create(user=user)
                client.credentials(HTTP_AUTHORIZATION=f"Token {key.key}")
            else:
                client.force_login(user)
        return client

    return factory


def pytest_terminal_summary(terminalreporter):
    if not SEEN:
        return
    try:
        from drf_spectacular.generators import SchemaGenerator

        document = SchemaGenerator().get_schema(request=None, public=True)
    except Exception:  # noqa: BLE001 - a summary only
        return
    missing = sorted(
        (method.upper(), path) for path, item in document["paths"].items()
        for method in item if method in ("get", "put", "patch", "post", "delete")
        if (method.upper(), path) not in SEEN and path.startswith("/api/v1/")
    )
    terminalreporter.write_line(
        f"API operations exercised: {len(SEEN)}; not exercised: "
        + (", ".join(f"{m} {p}" for m, p in missing) or "none"))


# --- roles --------------------------------------------------------------------------------------


@pytest.fixture
def roles(db):
    """Everybody the permission rules distinguish, around one Webex customer org."""

    class Roles:
        pass

    r = Roles()
    r.org = make_org("webex", name="Acme")
    r.other_org = make_org("webex", name="Globex")
    r.partner_org = make_org("webex", name="Partner Co")
    r.lonely_partner_org = make_org("webex", name="No Delegation Co")
    r.member = make_user(org=r.org, role=Membership.MEMBER)
    r.mia = make_person(r.org, user=r.member, name="Mia Member", number="+12025550101")
    r.colleague = make_user(org=r.org, role=Membership.MEMBER)
    r.bob = make_person(r.org, user=r.colleague, name="Bob Builder", number="+12025550102")
    r.admin = make_user(org=r.org, role=Membership.ADMIN, mfa=True)
    r.admin_no_mfa = make_user(org=r.org, role=Membership.ADMIN, mfa=False)
    r.stranger = make_user(org=r.other_org, role=Membership.ADMIN, mfa=True)
    r.zed = make_person(r.other_org, name="Zed Other", number="+12025550109")
    r.partner = make_user(org=r.partner_org, role=Membership.ADMIN, mfa=True)
    r.lonely_partner = make_user(org=r.lonely_partner_org, role=Membership.ADMIN, mfa=True)
    r.delegation = Delegation.objects.create(customer=r.org, partner=r.partner_org)
    return r


# Role name -> what it may do with a person of `org` who is not their own line.
ROLES = ["anonymous", "member", "admin", "admin_no_mfa", "stranger", "partner",
         "lonely_partner"]


def user_of(roles, name):
    return None if name == "anonymous" else getattr(roles, name)
