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


def test_health_200_with_database_and_broker_up(client):
    resp = client.get("/healthz")

    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] == connection.vendor
    assert body["broker"]["ok"] is True
    assert "worker" not in body  # the plain check never enqueues anything


def test_health_needs_no_credentials(api_client):
    assert api_client.get("/healthz").status_code == 200


def test_health_post_is_405(client):
    assert client.post("/healthz").status_code == 405


def test_health_unreachable_broker_is_503(client, unreachable_broker):
    resp = client.get("/healthz")

    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["broker"]["transport"] == "redis"
    assert body["database"]["ok"] is True


def test_health_database_down_is_503(client, monkeypatch):
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


def test_health_unwritable_filesystem_broker_is_503(client, settings, tmp_path):
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


def test_health_deep_by_staff_200_with_the_answering_worker(client_for, staff_user):
    # Test settings run tasks eagerly: the ping runs in-process and answers at once. Only
    # staff see the worker's name (issue 11); this test used to call anonymously.
    resp = client_for(staff_user).get("/healthz", {"worker": "1"})

    assert resp.status_code == 200, resp.content
    assert resp.json()["worker"]["ok"] is True
    assert WorkerHeartbeat.objects.filter(hostname=resp.json()["worker"]["worker"]).exists()


def test_health_deep_503_after_timeout_without_a_worker(client, monkeypatch):
    sent = []
    monkeypatch.setattr(health.ping, "apply_async", lambda *a, **kw: sent.append(kw))
    monkeypatch.setattr(health, "WORKER_CHECK_TIMEOUT", 0.2)

    resp = client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 503
    assert resp.json()["worker"]["ok"] is False
    assert "no worker answered" in resp.json()["worker"]["error"]
    assert sent[0]["expires"] > 0  # an unanswered ping does not pile up forever


def test_health_deep_ignores_an_old_heartbeat(client, monkeypatch):
    WorkerHeartbeat.objects.create(
        hostname="stale@host",
        last_seen_at=timezone.now(),
        last_ping_requested_at=timezone.now() - timedelta(minutes=5),
    )
    monkeypatch.setattr(health.ping, "apply_async", lambda *a, **kw: None)
    monkeypatch.setattr(health, "WORKER_CHECK_TIMEOUT", 0.2)

    resp = client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 503


def test_health_deep_broker_down_attempts_no_ping(client, unreachable_broker, monkeypatch):
    monkeypatch.setattr(health.ping, "apply_async", lambda *a, **kw: pytest.fail("enqueued"))

    resp = client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 503
    assert resp.json()["worker"] == {"ok": False, "error": "not checked"}


def test_health_with_require_services_checks_a_real_broker(client):
    if not services_required():
        pytest.skip("only meaningful in the services pass (REQUIRE_SERVICES=1)")

    body = client.get("/healthz").json()

    assert body["broker"]["transport"] != "filesystem"
    assert body["broker"]["ok"] is True


ELSEWHERE = "203.0.113.9"


def test_health_deep_anonymous_remote_is_403_without_ping(api_client):
    resp = api_client.get("/healthz", {"worker": "1"}, REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 403
    assert "staff" in resp.json()["detail"]
    assert not WorkerHeartbeat.objects.exists()


def test_health_deep_remote_non_staff_is_403(client_for, user):
    resp = client_for(user).get("/healthz", {"worker": "1"}, REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 403
    assert not WorkerHeartbeat.objects.exists()


def test_health_deep_loopback_via_a_proxy_is_403(api_client):
    # given: a loopback request forwarded by a proxy
    resp = api_client.get("/healthz", {"worker": "1"}, HTTP_X_FORWARDED_FOR=ELSEWHERE)

    assert resp.status_code == 403


def test_health_deep_remote_staff_200_with_the_worker(client_for, staff_user):
    resp = client_for(staff_user).get("/healthz", {"worker": "1"}, REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 200
    assert resp.json()["worker"]["worker"]


def test_health_deep_anonymous_local_shows_no_host_names(api_client):
    resp = api_client.get("/healthz", {"worker": "1"})

    assert resp.status_code == 200
    body = resp.json()
    assert body["worker"]["ok"] is True
    assert "worker" not in body["worker"]
    [heartbeat] = WorkerHeartbeat.objects.all()
    assert heartbeat.hostname not in resp.content.decode()


def test_health_deep_repeated_within_seconds_pings_once(api_client, client_for, staff_user):
    first = api_client.get("/healthz", {"worker": "1"})
    requested = WorkerHeartbeat.objects.get().last_ping_requested_at

    again = [api_client.get("/healthz", {"worker": "1"}) for _ in range(5)]
    as_staff = client_for(staff_user).get("/healthz", {"worker": "1"})

    assert first.status_code == 200
    assert all(r.status_code == 200 for r in again)
    assert WorkerHeartbeat.objects.get().last_ping_requested_at == requested
    assert as_staff.json()["worker"]["worker"] == WorkerHeartbeat.objects.get().hostname


def test_health_plain_check_unchanged_from_anywhere(api_client):
    resp = api_client.get("/healthz", REMOTE_ADDR=ELSEWHERE)

    assert resp.status_code == 200
    assert "worker" not in resp.json()
