from __future__ import annotations

import base64
import secrets
import time

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.integrations_external.pipeline.models import (
    DeliveryAttemptBase,
    DeliveryBase,
    OwnedTargetBase,
)
from core.fields import EncryptedJSONField, EncryptedTextField


def new_webhook_secret() -> str:
    """Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    """`msg_`, the creation time in milliseconds as 12 hex digits, then 16 random bytes.

    Time first, as Svix's KSUID-style ids: each new id lands at the end of the `webhook_id`
    index instead of on a random leaf page. With random ids a fan-out of 100 deliveries
    dirtied about 100 of that index's pages, each written to the WAL at commit. Lowercase hex
    sorts the same under every collation, so the order holds on PostgreSQL's too."""
    return f"msg_{time.time_ns() // 1_000_000:012x}{secrets.token_urlsafe(16)}"


class WebhookEndpoint(OwnedTargetBase):
    class Method(models.TextChoices):
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"

    # Kept by the system (counters, health, rotation), never written by a user.
    STATE_FIELDS = (
        "previous_secret_expires_at",
        "success_count",
        "failure_count",
        "last_triggered_at",
        "consecutive_failures",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
    )
    EVENT_SWITCHES = {
        "workflow": "trigger_workflow_completion",
        "command": "trigger_command_execution",
        "project": "trigger_project_update",
        "alert": "trigger_system_alert",
    }

    name = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000)
    secret = EncryptedTextField(default=new_webhook_secret)
    # After a rotation the old secret signs too, until `previous_secret_expires_at`.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.POST)
    # Custom request headers (name → value), often credentials: encrypted at rest, values
    # write-only in the API and masked in attempt history.
    headers = EncryptedJSONField(blank=True)
    retry_count = models.PositiveSmallIntegerField(
        default=8, validators=[MaxValueValidator(15)], help_text="Retries after the first attempt."
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    # Politeness, enforced by the claim across every worker (pipeline/limits.py).
    max_in_flight = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Requests to this endpoint in flight at once, across all workers (1-100).",
    )
    rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="Deliveries per second at most (empty: no limit).",
    )
    trigger_workflow_completion = models.BooleanField(default=True)
    trigger_command_execution = models.BooleanField(default=True)
    trigger_project_update = models.BooleanField(default=False)
    trigger_system_alert = models.BooleanField(default=False)
    custom_events = models.JSONField(default=list, blank=True)

    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    # Health, for auto-disable: consecutive deliveries that exhausted their retries.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)

    class Meta(OwnedTargetBase.Meta):
        pass

    def __str__(self) -> str:
        return self.name or self.url

    def wants_custom(self, event_type: str) -> bool:
        return "*" in self.custom_events or event_type in self.custom_events


class WebhookDelivery(DeliveryBase):
    target_field = "endpoint"

    # Indexed by the (endpoint, …) indexes below, which begin with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # The `webhook-id` header: stable across retries and redeliveries of one message, so the
    # receiver can use it as its idempotency key. Looked up whole, never by prefix: one plain
    # index (`db_index` would add a LIKE copy as large, 58 MB at a million rows, never read).
    webhook_id = models.CharField(max_length=64, default=new_message_id)
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    # The latest attempt's request headers (a success has no attempt row of its own:
    # DeliveryBase.attempt_history).
    request_headers = models.JSONField(default=dict, blank=True)

    class Meta(DeliveryBase.Meta):
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "created_at"]),
            # The claim counts each endpoint's leased deliveries (its concurrency limit): only
            # rows in flight, or left by a dead worker, carry a lease, so this stays small.
            models.Index(
                fields=["endpoint", "locked_until"],
                condition=models.Q(locked_until__isnull=False),
                name="webhook_delivery_leased",
            ),
            # The log filtered by status or event type, newest first: one range of each, however
            # rare the value (a status matching few rows walked the endpoint's whole history).
            models.Index(fields=["endpoint", "status", "created_at"], name="ie_webhook_log_status"),
            models.Index(
                fields=["endpoint", "event_type", "created_at"], name="ie_webhook_log_type"
            ),
            models.Index(fields=["webhook_id"], name="ie_webhook_message_id"),
        ]


class WebhookDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    request_headers = models.JSONField(default=dict, blank=True)
