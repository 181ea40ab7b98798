"""The pipeline's tables and the shapes every channel shares: the events outbox, the base of
every notification target (so one routing rule serves every channel) and the base of every
delivery and attempt (so one engine drives them all)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


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


class TargetPace(models.Model):
    """A rate-limited target's pace (pipeline/limits.py): the earliest moment its next delivery
    may be claimed (GCRA's "theoretical arrival time"). A row of its own, not a column of the
    target: only claims write it, under their per-target lock, so it never waits behind (or
    deadlocks with) the counter updates that recording results makes on the target rows."""

    channel = models.CharField(max_length=40)
    target_id = models.BigIntegerField()
    next_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "target_id"], name="target_pace_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.target_id} {self.next_at}"


class OwnedTargetBase(models.Model):
    """A target owned by a user, optionally scoped to one project.

    `EVENT_SWITCHES` maps an event category (see catalog.py) to the boolean field that
    turns it on for this kind of target; a category missing from the map is never delivered.
    """

    EVENT_SWITCHES: dict[str, str] = {}

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only events of this project; empty means every project the owner can see.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
FINISHED_STATUSES = (DeliveryStatus.SUCCESS, DeliveryStatus.FAILED)


class DeliveryBase(models.Model):
    """One (event, target) pair and its progress through record → send → retry → give up.

    Concrete models add the FK to their target and declare `target_field`.
    """

    target_field: str = ""
    # Declared for type checkers (each concrete model gets its own default manager).
    objects: ClassVar[models.Manager[Any]]
    # Each concrete attempt model's `delivery` foreign key has related_name="attempts".
    attempts: RelatedManager[DeliveryAttemptBase]

    event = models.ForeignKey(
        "integrations_external.Event", on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(max_length=200, db_index=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )  # No index of its own: every delivery table's (status, next_attempt_at) starts with it.
    attempt_number = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The lease: while `locked_until` is in the future one worker owns the delivery.
    locked_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def target_id(self) -> int:
        return getattr(self, f"{self.target_field}_id")

    @property
    def target(self):
        return getattr(self, self.target_field)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def attempt_history(self) -> list[DeliveryAttemptBase]:
        """Every attempt, oldest first. A success is kept on the delivery's own row, not as an
        attempt row (one row write less per delivery: docs/delivery.md, "A success is kept on
        its delivery"), so it is added here, as an unsaved attempt, after the stored ones
        (retries and failures; and successes stored as rows before that change)."""
        stored = list(self.attempts.all())
        if self.status == DeliveryStatus.SUCCESS and not any(
            a.attempt_number == self.attempt_number for a in stored
        ):
            attempt_model: Any = self.attempt_model()
            stored.append(attempt_model(delivery=self, **self.success_attempt_values()))
        return stored

    def success_attempt_values(self) -> dict[str, Any]:
        """The fields of this delivery's success as an attempt row would hold them."""
        values: dict[str, Any] = {
            "attempt_number": self.attempt_number,
            "started_at": (self.completed_at or self.updated_at)
            - timedelta(milliseconds=self.duration_ms or 0),
            "duration_ms": self.duration_ms,
            "outcome": "success",
            "response_status": self.response_status,
            "response_body": self.response_body,
            "error_message": self.error_message,
        }
        if hasattr(self, "request_headers"):
            values["request_headers"] = self.request_headers
        return values

    @classmethod
    def attempt_model(cls) -> type[DeliveryAttemptBase]:
        """The attempt model: its `delivery` foreign key has related_name="attempts"."""
        return cast(type[DeliveryAttemptBase], cls._meta.fields_map["attempts"].related_model)


class DeliveryAttemptBase(models.Model):
    """One try of a delivery: what was sent, what came back, how long it took."""

    attempt_number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20)  # success | retry | failed
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["attempt_number", "id"]
