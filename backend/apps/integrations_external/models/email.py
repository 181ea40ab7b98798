from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.integrations_external.models.deliveries import DeliveryAttemptBase, DeliveryBase


class EmailNotificationSettings(models.Model):
    """One person's email choices; created with defaults on first use."""

    EVENT_SWITCHES = {
        "workflow": "workflow_completion",
        "command": "command_execution",
        "alert": "system_alerts",
        "project": "project_updates",
    }

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_notification_settings"
    )
    workflow_completion = models.BooleanField(default=True)
    command_execution = models.BooleanField(default=True)
    system_alerts = models.BooleanField(default=True)
    project_updates = models.BooleanField(default=False)
    daily_summary = models.BooleanField(default=False)
    weekly_summary = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "email notification settings"

    def __str__(self) -> str:
        return f"Email settings of {self.user}"


class EmailDelivery(DeliveryBase):
    """One email to one person about one event: the sent-mail history."""

    target_field = "recipient"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    to_address = models.EmailField()
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=200, blank=True)

    class Meta(DeliveryBase.Meta):
        verbose_name_plural = "email deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # Nobody gets the same notification twice, however often fan-out runs.
            models.UniqueConstraint(fields=["event", "recipient"], name="one_email_per_event_and_recipient")
        ]


class EmailDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(EmailDelivery, on_delete=models.CASCADE, related_name="attempts")
