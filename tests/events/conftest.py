"""Fixtures of the outgoing-events tests: the sandbox (a subprocess, over real HTTP) and
its event receivers."""

import pytest

from portal.models import Membership
from tests.cast import make_org, make_user
from tests.integration.harness import SandboxClient
from tests.sandbox.process import start_sandbox, stop_sandbox


@pytest.fixture(scope="package")
def sandbox_url():
    url, proc = start_sandbox()
    yield url
    stop_sandbox(proc)


@pytest.fixture
def sandbox(sandbox_url):
    client = SandboxClient(sandbox_url)
    client.reset()
    return client


def received(sandbox, name):
    return sandbox.control("GET", f"events/{name}", expect=200).json()["received"]


@pytest.fixture
def acme(db):
    org = make_org("webex", name="Acme Events")
    admin = make_user("ada@acme.example", org=org, role=Membership.ADMIN, mfa=True)
    return org, admin
