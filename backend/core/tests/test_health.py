"""`GET /healthz`: database and broker status; `?worker=1` also asks a worker for a ping."""

import socket
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from core import health
from core.celery import app as celery_app
from core.models import WorkerHeartbeat
from tests_support.services import services_required

pytestmark = pytest.mark.django_db


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


def test_given_a_worker_answering_when_deep_checking_then_200_with_the_worker(client):
    # Test settings run tasks eagerly: the ping runs in-process and answers at once.
    resp = client.get("/healthz", {"worker": "1"})

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
