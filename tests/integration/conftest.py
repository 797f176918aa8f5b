"""Fixtures for pipeline tests: a private Redis, the sandbox, and real workers."""

import os

import pytest
from django.db import connection

from portal.celery import app as celery_app
from tests.sandbox.process import start_sandbox, stop_sandbox

from .harness import PrivateRedis, SandboxClient, Worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def private_redis():
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="session", autouse=True)
def _no_worker_connections_left(django_db_setup, django_db_blocker):
    """Workers that were SIGKILLed may leave server sessions behind for a moment; end them
    so the test database can be dropped."""
    yield
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def sandbox_url():
    url, proc = start_sandbox()
    yield url
    stop_sandbox(proc)


@pytest.fixture
def sandbox(sandbox_url):
    client = SandboxClient(sandbox_url)
    client.reset()
    return client


def _point_celery_at(url):
    # The test process enqueues (on commit) through the same broker as the workers.
    # Drop the cached pools (without closing them: kombu's global registry may still hand
    # them out for the old URL) so the next publish connects to `url`.
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(private_redis, transactional_db, settings):
    if not private_redis.answers():
        private_redis.start()
    import redis as redis_lib

    redis_lib.Redis.from_url(private_redis.url).flushdb()
    settings.REDIS_URL = private_redis.url
    from forwarding.sync import ratelimit

    ratelimit._clear()
    old = celery_app.conf.broker_url
    _point_celery_at(private_redis.url)
    yield private_redis
    _point_celery_at(old)
    ratelimit._clear()


@pytest.fixture
def worker_env(broker):
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": broker.url,
        "CONN_MAX_AGE": "0",
        # Short clocks so crash recovery is observable in seconds, not minutes.
        "PUSH_CLAIM_SECONDS": "6",
        "PUSH_SWEEP_GRACE": "1",
        "SWEEP_EVERY_SECONDS": "1",
        "PUSH_BACKOFF_BASE": "0.5",
        "CELERY_TASK_SOFT_TIME_LIMIT": "4",
        "CELERY_TASK_TIME_LIMIT": "5",
        "PROVIDER_READ_TIMEOUT": "4",
        "BULK_APPLY_TIME_LIMIT": "12",
        "BULK_APPLY_KILL_GRACE": "2",
        "BULK_STALLED_AFTER": "16",
        "BULK_STALLED_CHECK_SECONDS": "2",
    })
    return env


@pytest.fixture
def make_worker(worker_env):
    started = []

    def factory(name="w1", **kwargs):
        worker = Worker(env=worker_env, name=name, **kwargs).start()
        started.append(worker)
        return worker

    factory.started = started
    yield factory
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(make_worker):
    return make_worker("w1", beat=True)


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


