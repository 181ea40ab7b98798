"""`GET /healthz`: is the database reachable, is the task broker reachable.

`GET /healthz?worker=1` also sends a `core.ping` task and waits up to 2 s for some Celery
worker to answer it (through the database), so a monitor can tell "requests are accepted
but nothing consumes the queue" apart from "all fine". The plain check never enqueues.
"""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.celery import app as celery_app
from core.models import WorkerHeartbeat
from core.tasks import PING_EXPIRES_SECONDS, ping

logger = logging.getLogger(__name__)


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        logger.warning("health: database unreachable: %s", exc)
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    return {
        "ok": True,
        "vendor": connection.vendor,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def check_broker() -> dict:
    started = time.perf_counter()
    transport = "filesystem" if settings.CELERY_BROKER_IS_EMBEDDED else None
    try:
        with celery_app.connection_for_write() as conn:
            transport = transport or conn.transport_cls
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            if settings.CELERY_BROKER_IS_EMBEDDED:
                folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
                if not os.access(folder, os.W_OK):
                    raise PermissionError(f"{folder} is not writable")
    except Exception as exc:
        logger.warning("health: broker unreachable: %s", exc)
        return {"ok": False, "transport": str(transport), "error": type(exc).__name__}
    return {
        "ok": True,
        "transport": str(transport),
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


WORKER_CHECK_TIMEOUT = 2.0


def check_worker(timeout: float = WORKER_CHECK_TIMEOUT, broker_connection=None) -> dict:
    """Send a ping and wait up to `timeout` s for any worker to record that it answered it.

    `broker_connection` (a kombu connection) sends through another broker than the configured
    one; the answer is still read from this process's database.
    """
    started = time.perf_counter()
    requested_at = timezone.now()
    try:
        ping.apply_async(
            args=[requested_at.isoformat()],
            expires=PING_EXPIRES_SECONDS,
            connection=broker_connection,
        )
    except Exception as exc:
        logger.warning("health: cannot enqueue a worker ping: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    deadline = started + timeout
    while True:
        answered = (
            WorkerHeartbeat.objects.filter(last_ping_requested_at__gte=requested_at)
            .order_by("-last_seen_at")
            .first()
        )
        if answered is not None:
            return {
                "ok": True,
                "worker": answered.hostname,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }
        if time.perf_counter() >= deadline:
            return {"ok": False, "error": f"no worker answered within {timeout:g}s"}
        time.sleep(0.05)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker()}
    if request.GET.get("worker") in {"1", "true", "yes"}:
        ready = checks["database"]["ok"] and checks["broker"]["ok"]
        checks["worker"] = (
            check_worker(WORKER_CHECK_TIMEOUT) if ready else {"ok": False, "error": "not checked"}
        )
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
