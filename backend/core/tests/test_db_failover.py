"""A failover or a restart of PostgreSQL terminates every connection; the next request or task
must open a fresh one instead of failing on the dead one it kept (`CONN_MAX_AGE`)."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.client import RequestFactory

from apps.accounts.services import create_token
from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory
from tests_support.receivers import Reply
from tests_support.services import wait_until

pytestmark = pytest.mark.services


def _terminate_every_connection_to_the_test_database() -> int:
    """What a failover does to the pool: every backend on the database is gone."""
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [s["NAME"]],
        ).fetchall()
    return len(rows)


def _call(handler: WSGIHandler, method: str, path: str, token: str, body: dict | None = None):
    """One request through Django's WSGI handler, the one gunicorn calls: unlike the test client
    it runs the request_started/finished connection housekeeping of a real server."""
    factory = RequestFactory()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if body is None:
        request = getattr(factory, method)(path, **auth)
    else:
        request = getattr(factory, method)(
            path, data=json.dumps(body), content_type="application/json", **auth
        )
    environ = request.environ
    status: list[str] = []
    chunks = handler(environ, lambda s, headers, exc_info=None: status.append(s))
    content = b"".join(chunks)
    chunks.close()  # sends request_finished, as a WSGI server does
    return int(status[0].split()[0]), content


def test_failover_api_works_after_pooled_connections_killed(require_postgres, transactional_db):
    # given: the server terminated the pooled connections
    # when: the API is called again
    assert connection.settings_dict["CONN_MAX_AGE"] > 0, "connections are not pooled here"
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    token = create_token(user=owner, name="failover")[1]
    handler = WSGIHandler()
    path = f"/api/v1/projects/{project.pk}/"
    assert _call(handler, "get", path, token)[0] == 200

    assert _terminate_every_connection_to_the_test_database() >= 1

    answers = [
        _call(handler, "get", path, token)[0],
        _call(handler, "patch", path, token, {"description": "after the failover"})[0],
        _call(handler, "get", path, token)[0],
    ]
    assert answers == [200, 200, 200]
    project.refresh_from_db()
    assert project.description == "after the failover"


def test_failover_worker_delivers_after_its_connections_killed(
    require_postgres, tasks_through_redis, celery_worker_process, receiver
):
    # given: the server terminated the worker's connections
    # when: the next event is published
    from apps.integrations_external.pipeline.events import publish

    receiver.default = Reply(200, b"ok")
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    endpoint = WebhookEndpointFactory(owner=owner, url=receiver.url)
    worker = celery_worker_process(tasks_through_redis, concurrency=1)

    def delivered(count: int) -> bool:
        assert worker.proc.poll() is None, f"the worker exited:\n{worker.log()[-3000:]}"
        return WebhookDelivery.objects.filter(endpoint=endpoint, status="success").count() == count

    publish("workflow.completed", {"n": 1}, project=project, actor=owner)
    wait_until(lambda: delivered(1), timeout=60, message="the first delivery")

    assert _terminate_every_connection_to_the_test_database() >= 1
    connection.close()  # this test process's own connection went too

    publish("workflow.completed", {"n": 2}, project=project, actor=owner)
    # Well within the sweeper's interval: the task itself must succeed, not a later sweep.
    wait_until(lambda: delivered(2), timeout=20, message="the delivery after the failover")
    assert "OperationalError" not in worker.log()
