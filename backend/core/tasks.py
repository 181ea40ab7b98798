"""Platform tasks: `core.ping`, the health check's way of asking "is a worker consuming?"."""

from __future__ import annotations

import socket
from datetime import datetime

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from core.models import WorkerHeartbeat

# A ping nobody consumed within this many seconds is dropped by the worker that finally
# gets it; it answered a health check long gone.
PING_EXPIRES_SECONDS = 30


@shared_task(bind=True, name="core.ping", ignore_result=True)
def ping(self, requested_at: str) -> str:
    """Record that this worker is alive and answered a ping sent at `requested_at` (ISO)."""
    hostname = self.request.hostname or socket.gethostname()
    requested = datetime.fromisoformat(requested_at)
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now()}
    )
    # Only move forward: a late answer to an old ping must not hide a newer one.
    WorkerHeartbeat.objects.filter(pk=heartbeat.pk).filter(
        Q(last_ping_requested_at__isnull=True) | Q(last_ping_requested_at__lt=requested)
    ).update(last_ping_requested_at=requested)
    return hostname
