"""`GET /metrics`: Prometheus's text format, added up over every process of the deployment.

prometheus-client runs in multiprocess mode (settings export PROMETHEUS_MULTIPROC_DIR before
it is imported): each process writes its counters and histograms into a file of its own in that
folder, and a scrape merges the files, so gunicorn's workers and Celery's pool children add up
whichever process answers. Gauges of state (backlog age, failing endpoints…) are not kept in
processes at all: the collectors named in METRICS_COLLECTORS read them from the database at
scrape time.

Who may read it is decided here, in `scrape_allowed`: clients on loopback that no proxy
forwarded, or anyone presenting `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

_FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _from_loopback(request: HttpRequest) -> bool:
    # A reverse proxy on the same host connects from loopback too: a forwarded request came
    # from somewhere else, whatever REMOTE_ADDR says.
    if any(request.META.get(header) for header in _FORWARDED_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def scrape_allowed(request: HttpRequest) -> int:
    """200 if `request` may read the metrics, else the status to answer: 401 for a missing or
    wrong token when one is configured, 404 (no such page) when none is."""
    token = settings.METRICS_TOKEN
    presented = _bearer(request)
    if token and presented and hmac.compare_digest(presented.encode(), token.encode()):
        return 200
    if _from_loopback(request) and not presented:
        return 200
    return 401 if token else 404


def registry() -> CollectorRegistry:
    """A fresh registry per scrape: the merged files of every process, plus the collectors
    computed from the database."""
    reg = CollectorRegistry()
    multiprocess.MultiProcessCollector(reg, path=settings.PROMETHEUS_MULTIPROC_DIR)
    for path in settings.METRICS_COLLECTORS:
        reg.register(import_string(path)())
    return reg


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    status = scrape_allowed(request)
    if status != 200:
        response = HttpResponse(status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def _mark_dead(pid: int, **_) -> None:
    # Only "live" gauges are kept per process and need removing; counters and histograms of a
    # dead process stay in its file and keep counting in the sums (they never go backwards).
    multiprocess.mark_process_dead(pid, settings.PROMETHEUS_MULTIPROC_DIR)


def connect_celery() -> None:
    """A Celery pool child that exits hands back its live-gauge files, as gunicorn's children
    do through `child_exit` (core/gunicorn_conf.py). The children need nothing at start: a
    forked process notices its new pid at its first write and opens files of its own."""
    from celery.signals import worker_process_shutdown

    worker_process_shutdown.connect(
        lambda pid=None, **kw: _mark_dead(pid or os.getpid()),
        weak=False,
        dispatch_uid="core.metrics.process_shutdown",
    )
