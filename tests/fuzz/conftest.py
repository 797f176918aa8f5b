"""API fuzzing (schemathesis); skipped where schemathesis is not installed."""

import pytest

pytest.importorskip("schemathesis")


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: generated requests against the REST API")
