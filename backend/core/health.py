"""`GET /healthz`: is the database reachable, is the task broker reachable.

`GET /healthz?worker=1` also sends a `core.ping` task and waits up to 2 s for some Celery
worker to answer it (through the database), so a monitor can tell "requests are accepted
but nothing consumes the queue" apart from "all fine". The plain check never enqueues.

The worker check costs a queued task and up to 2 s of a web thread, so only staff and local
callers (loopback, not forwarded by a proxy) may ask for it, and its result is shared for
WORKER_CHECK_CACHE_SECONDS through Django's cache; only staff see the worker's host name.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

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


WORKER_CHECK_CACHE_SECONDS = 5
WORKER_CHECK_CACHE_KEY = "core.health.worker"
# Headers a reverse proxy adds: a request carrying one came from elsewhere through the proxy,
# even though its connection is from loopback.
FORWARDING_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
# One worker check at a time per process; the others wait for its (cached) result.
_worker_check_lock = threading.Lock()


def is_staff_caller(request: HttpRequest) -> bool:
    """Staff signed in by session (the admin) or by DRF token."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.is_staff)
    from apps.accounts.authentication import ApiTokenAuthentication  # the API's token check

    try:
        found = ApiTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return False
    return bool(found and found[0].is_active and found[0].is_staff)


def is_local_caller(request: HttpRequest) -> bool:
    """A direct connection from this machine's loopback, not forwarded by a proxy."""
    if any(request.META.get(header) for header in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def cached_worker_check() -> dict:
    """check_worker's result, at most WORKER_CHECK_CACHE_SECONDS old: a burst of callers
    queues one ping per process and period, not one each."""
    result = cache.get(WORKER_CHECK_CACHE_KEY)
    if result is not None:
        return result
    with _worker_check_lock:
        result = cache.get(WORKER_CHECK_CACHE_KEY)
        if result is None:
            result = check_worker(WORKER_CHECK_TIMEOUT)
            cache.set(WORKER_CHECK_CACHE_KEY, result, WORKER_CHECK_CACHE_SECONDS)
    return result


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    deep = request.GET.get("worker") in {"1", "true", "yes"}
    staff = deep and is_staff_caller(request)
    if deep and not (staff or is_local_caller(request)):
        return JsonResponse(
            {"detail": "The worker check is for staff and local callers only."}, status=403
        )
    checks = {"database": check_database(), "broker": check_broker()}
    if deep:
        ready = checks["database"]["ok"] and checks["broker"]["ok"]
        worker = cached_worker_check() if ready else {"ok": False, "error": "not checked"}
        checks["worker"] = worker if staff else {k: v for k, v in worker.items() if k != "worker"}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
