from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """When each Celery worker last answered a health ping (`core.ping`).

    `last_ping_requested_at` is the requester's clock, passed in the task: a health check
    asks "did some worker answer a ping sent at or after T?", which stays correct when the
    web and worker machines' clocks differ.
    """

    hostname = models.CharField(max_length=255, unique=True)
    last_seen_at = models.DateTimeField()
    last_ping_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname} (last seen {self.last_seen_at:%Y-%m-%d %H:%M:%S})"
