"""One world per test module, built once inside a transaction that is rolled back at the
end; each test runs in a savepoint of it (pytest-django's `db`), so nothing a test does
reaches the next one."""

import pytest
from django.db import transaction

from .harness import no_broker, sign_in
from .world import build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with no_broker():
                world = build()
                sign_in(world.users.values())
                yield world
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def quiet_broker(db):
    with no_broker():
        yield
