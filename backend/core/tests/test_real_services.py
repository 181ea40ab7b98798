"""The real services: PostgreSQL in CI's second pass, a real Celery worker on a real Redis.

These skip when the service is unreachable, and fail instead under REQUIRE_SERVICES=1.
"""

import os

import pytest
from django.db import connection

from core.celery import app as celery_app
from core.health import check_worker
from core.models import WorkerHeartbeat
from tests_support.services import wait_until

pytestmark = pytest.mark.services


def test_real_services_database_is_postgresql(
    require_postgres,
):
    # given: REQUIRE_SERVICES is set
    # Under REQUIRE_SERVICES=1 the fixture fails the run on SQLite, so this proves the second
    # CI pass really ran every test against PostgreSQL.
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_real_services_redis_worker_runs_task_on_the_test_db(
    redis_url, celery_worker_process, monkeypatch
):
    # given: a real worker on Redis
    # when: pinged
    worker = celery_worker_process(redis_url, concurrency=1)
    # This process sends through Redis for real instead of running tasks in-process.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)

    def answered():
        assert worker.proc.poll() is None, f"the worker exited:\n{worker.log()[-3000:]}"
        # Pings sent before the worker bound its queue are lost; each try sends a new one.
        with celery_app.connection_for_write(redis_url) as conn:
            result = check_worker(timeout=1.0, broker_connection=conn)
        return result if result["ok"] else None

    result = wait_until(answered, timeout=90, interval=0, message="a worker to answer a ping")

    assert result["worker"].startswith(f"test-{os.getpid()}-")
    heartbeat = WorkerHeartbeat.objects.get(hostname=result["worker"])
    assert heartbeat.last_ping_requested_at is not None
