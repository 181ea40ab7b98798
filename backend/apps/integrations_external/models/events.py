from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_event_id() -> str:
    return "evt_" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


class Event(models.Model):
    """The outbox: one row per thing that happened, written with the change that caused it."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    type = models.CharField(max_length=200, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    project = models.ForeignKey(
        "projects.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its deliveries were created. Events from the platform's signals are fanned out by a
    # worker (the request only inserts this row); the sweeper re-enqueues any left unset.
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-created_at"]
        indexes = [
            models.Index(fields=["project", "occurred_at"]),
            models.Index(fields=["fanned_out_at", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"

    def envelope(self) -> dict:
        """The wire shape every channel starts from (Standard Webhooks: id, type, time, data)."""
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
