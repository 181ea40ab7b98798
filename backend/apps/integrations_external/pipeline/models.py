"""The shape every channel's delivery shares, so one engine drives them all."""

from __future__ import annotations

from django.db import models


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

    event = models.ForeignKey(
        "integrations_external.Event", on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(max_length=200, db_index=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
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
