"""The PostgreSQL backend health-checks only connections that sat idle
(portal/db/backends/postgresql)."""

from unittest import mock

import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.django_db(transaction=True)


def query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's backend")
    assert connection.settings_dict["ENGINE"] == "portal.db.backends.postgresql"
    query()
    return connection


def test_a_connection_used_a_moment_ago_is_not_checked_again(pg):
    close_old_connections()  # what Django does when a request starts
    with mock.patch.object(pg, "is_usable", return_value=True) as usable:
        query()
    assert not usable.called


def test_an_idle_connection_is_checked(pg):
    close_old_connections()
    pg._last_used -= 60
    with mock.patch.object(pg, "is_usable", return_value=True) as usable:
        query()
    assert usable.call_count == 1


def test_a_connection_that_failed_is_checked_and_replaced(pg):
    broken = pg.connection
    broken.close()  # the server went away
    with pytest.raises(Exception):
        query()
    assert pg.errors_occurred
    close_old_connections()  # the end of the request
    query()  # a new connection, not the broken one
    assert pg.connection is not broken


def test_the_sqlite_backend_has_the_postgresql_functions_of_the_sip_index():
    # The demo database copies the person table with every index of the migration state
    # on an AddField; the SIP index needs these two (make run on a fresh clone did not
    # migrate without them).
    from portal.db.backends.sqlite3.base import regexp_replace, split_part

    assert split_part("sips:ada@x.example;transport=tls", ";", 1) == "sips:ada@x.example"
    assert split_part("a;b", ";", 3) == ""
    assert regexp_replace("sips:sips:ada", "sips:", "sip:") == "sip:sips:ada"
    assert regexp_replace(None, "sips:", "sip:") is None
