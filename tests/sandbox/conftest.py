"""Fixtures for the sandbox tests: one sandbox process per session, reset per test."""

from __future__ import annotations

import pytest
import requests

from .helpers import Receiver, Sandbox
from .process import start_sandbox, stop_sandbox


@pytest.fixture(scope="session")
def sandbox_url():
    url, proc = start_sandbox()
    try:
        yield url
    finally:
        stop_sandbox(proc)


@pytest.fixture(autouse=True)
def _reset_sandbox(sandbox_url):
    resp = requests.post(f"{sandbox_url}/_sandbox/reset", timeout=5)
    assert resp.status_code == 200, resp.text
    yield


@pytest.fixture
def sb(sandbox_url):
    client = Sandbox(sandbox_url)
    yield client
    client.http.close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()
