"""The provider sandbox, one process per test module, for the push tests that go over
real HTTP (test_push_budget, test_batch_delivery)."""

import pytest

from tests.sandbox.process import start_sandbox, stop_sandbox


@pytest.fixture(scope="module")
def sandbox_url():
    url, proc = start_sandbox()
    yield url
    stop_sandbox(proc)
