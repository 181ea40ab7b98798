"""`GET /healthz`: database and broker status; `?worker=1` also asks a worker for a ping."""

import socket
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils import timezone

from core import health
from core.celery import app as celery_app
from core.models import WorkerHeartbeat
from tests_support.services import services_required

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_cached_worker_check():
    """Each test asks the workers afresh (the deep check's result is cached for seconds). Not
    again afterwards: a test may have made the database (the cache's home) unreachable."""
    cache.delete(health.WORKER_CHECK_CACHE_KEY)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_broker(monkeypatch, settings):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CELERY_BROKER_IS_EMBEDDED = False
    # Celery prefers the CELERY_BROKER_URL environment variable over its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setitem(celery_app.conf, "broker_url", url)


def test_given_database_and_broker_up_when_checking_health_then_200_with_both(client):
    resp = client.get("/healthz")

    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] == connection.vendor
    assert body["broker"]["ok"] is True
    assert "worker" not in body  # the plain check never enqueues anything


def test_given_health_when_called_without_credentials_then_it_needs_none(api_client):
    assert api_client.get("/healthz").status_code == 200


def test_given_health_when_posting_then_405(client):
    assert client.post("/healthz").status_code == 405


def test_given_an_unreachable_broker_when_checking_health_then_503(client, unreachable_broker):
    resp = client.get("/healthz")

    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["broker"]["transport"] == "redis"
    assert body["database"]["ok"] is True


def test_given_a_database_that_is_down_when_checking_health_then_503(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", refuse)

    resp = client.get("/healthz")

    assert resp.status_code == 503
    assert resp.json()["database"] == {
        "ok": False,
        "vendor": connection.vendor,
        "error": "OperationalError",
    }
    assert resp.json()["broker"]["ok"] is True


def test_given_an_unwritable_filesystem_broker_when_checking_health_then_503(
    client, settings, tmp_path
):
    if not settings.CELERY_BROKER_IS_EMBEDDED:
        pytest.skip("only the embedded (filesystem) broker has a folder")
    missing = tmp_path / "gone"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(missing),
    }

    resp = client.get("/healthz")

    assert resp.status_code == 503
    assert resp.json()["broker"]["error"] == "PermissionError"


def test_given_a_worker_answering_when_staff_deep_checks_then_200_with_the_worker(
    client_for, staff_user
):
    # Test settings run tasks eagerly: the ping runs in-process and answers at once. Only
    # staff see the worker's name (issue 11); this test used to call anonymously.
    resp = client_for(staff_user).get("/healthz", {"worker": "1"})

    assert resp.status_code == 200, resp.content
    assert resp.json()["worker"]["ok"] is True
    assert WorkerHeartbeat.objects.filter(hostname=resp.json()["worker"]["worker"]).exists()


def test_given_no_worker_consuming_when_deep_checking_then_503_after_the_timeout(
    client, monkeypatch
):
    sent = []
    monkeypatch.setattr(health.ping, "apply_async", lambda *a, **kw: sent.append(kw))
    monkeypatch.setattr(health, "WORKER_CHECK_TIMEOUT", 0.2)

    resp = client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 503
    assert resp.json()["worker"]["ok"] is False
    assert "no worker answered" in resp.json()["worker"]["error"]
    assert sent[0]["expires"] > 0  # an unanswered ping does not pile up forever


def test_given_an_old_heartbeat_when_deep_checking_then_it_does_not_count(client, monkeypatch):
    WorkerHeartbeat.objects.create(
        hostname="stale@host",
        last_seen_at=timezone.now(),
        last_ping_requested_at=timezone.now() - timedelta(minutes=5),
    )
    monkeypatch.setattr(health.ping, "apply_async", lambda *a, **kw: None)
    monkeypatch.setattr(health, "WORKER_CHECK_TIMEOUT", 0.2)

    resp = client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 503


def test_given_the_broker_is_down_when_deep_checking_then_no_ping_is_attempted(
    client, unreachable_broker, monkeypatch
):
    monkeypatch.setattr(health.ping, "apply_async", lambda *a, **kw: pytest.fail("enqueued"))

    resp = client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 503
    assert resp.json()["worker"] == {"ok": False, "error": "not checked"}


def test_given_require_services_when_checking_health_then_the_broker_is_a_real_server(client):
    if not services_required():
        pytest.skip("only meaningful in the services pass (REQUIRE_SERVICES=1)")

    body = client.get("/healthz").json()

    assert body["broker"]["transport"] != "filesystem"
    assert body["broker"]["ok"] is True


ELSEWHERE = "203.0.113.9"


def test_given_anonymous_remote_caller_when_deep_checking_then_403_and_no_ping(api_client):
    resp = api_client.get("/healthz", {"worker": "1"}, REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 403
    assert "staff" in resp.json()["detail"]
    assert not WorkerHeartbeat.objects.exists()


def test_given_remote_non_staff_user_when_deep_checking_then_403(client_for, user):
    resp = client_for(user).get("/healthz", {"worker": "1"}, REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 403
    assert not WorkerHeartbeat.objects.exists()


def test_given_loopback_request_forwarded_by_a_proxy_when_deep_checking_then_403(api_client):
    resp = api_client.get("/healthz", {"worker": "1"}, HTTP_X_FORWARDED_FOR=ELSEWHERE)

    assert resp.status_code == 403


def test_given_remote_staff_when_deep_checking_then_200_with_the_worker(client_for, staff_user):
    resp = client_for(staff_user).get("/healthz", {"worker": "1"}, REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 200
    assert resp.json()["worker"]["worker"]


def test_given_anonymous_local_caller_when_deep_checking_then_no_host_names(api_client):
    resp = api_client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 200
    body = resp.json()
    assert body["worker"]["ok"] is True
    assert "worker" not in body["worker"]
    [heartbeat] = WorkerHeartbeat.objects.all()
    assert heartbeat.hostname not in resp.content.decode()


def test_given_repeated_deep_checks_when_within_seconds_then_one_ping(
    api_client, client_for, staff_user
):
    first = api_client.get("/healthz", {"worker": "1"})
    requested = WorkerHeartbeat.objects.get().last_ping_requested_at

    again = [api_client.get("/healthz", {"worker": "1"}) for _ in range(5)]
    as_staff = client_for(staff_user).get("/healthz", {"worker": "1"})

    assert first.status_code == 200
    assert all(r.status_code == 200 for r in again)
    assert WorkerHeartbeat.objects.get().last_ping_requested_at == requested
    assert as_staff.json()["worker"]["worker"] == WorkerHeartbeat.objects.get().hostname


def test_given_plain_check_from_anywhere_then_unchanged(api_client):
    resp = api_client.get("/healthz", REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 200
    assert "worker" not in resp.json()
