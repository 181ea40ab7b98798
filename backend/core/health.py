"""`GET /healthz`: is the database reachable, is the task broker reachable."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from core.celery import app as celery_app

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
                import os

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


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
