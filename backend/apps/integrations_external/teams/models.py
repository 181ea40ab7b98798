from __future__ import annotations

from django.db import models

from apps.integrations_external.pipeline.models import (
    DeliveryAttemptBase,
    DeliveryBase,
    OwnedTargetBase,
)
from core.fields import EncryptedTextField


class TeamsIntegration(OwnedTargetBase):
    """One Teams channel that receives notifications through a Workflows webhook URL.

    The URL carries its own signature (`sig=`): whoever has it can post to the channel, so it
    is a secret: encrypted at rest, write-only in the API, masked everywhere else."""

    EVENT_SWITCHES = {
        "workflow": "notify_workflow_completion",
        "command": "notify_command_execution",
        "alert": "notify_system_alerts",
        "project": "notify_project_updates",
    }
    # Kept by the system (verification, health, sending), never written by a user.
    STATE_FIELDS = (
        "is_healthy",
        "health_reason",
        "health_changed_at",
        "last_verified_at",
        "last_verification_ok",
        "last_verification_detail",
        "last_message_at",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
    )

    # A Teams integration always belongs to one project.
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(
        max_length=200, help_text="The Teams channel the workflow posts to, as people call it."
    )
    webhook_url = EncryptedTextField(
        help_text="The URL Teams' Workflows app gives for 'post to a channel when a webhook "
        "request is received'; stored encrypted, never shown."
    )
    notify_workflow_completion = models.BooleanField(default=True)
    notify_command_execution = models.BooleanField(default=True)
    notify_system_alerts = models.BooleanField(default=False)
    notify_project_updates = models.BooleanField(default=False)
    notify_only_failures = models.BooleanField(
        default=False, help_text="Only failed workflows and commands."
    )
    notify_back_to_normal = models.BooleanField(
        default=True,
        help_text="With 'only failures': also say when a workflow that failed last time succeeds.",
    )
    # Health: a permanent refusal (400, 401, 403, 404) marks it unhealthy; routing skips it
    # until a successful verification restores it.
    is_healthy = models.BooleanField(default=True)
    health_reason = models.TextField(blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verification_ok = models.BooleanField(null=True, blank=True)
    last_verification_detail = models.TextField(blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)

    class Meta(OwnedTargetBase.Meta):
        verbose_name = "Teams integration"

    def __str__(self) -> str:
        return f"Teams: {self.channel_name}"


class TeamsDelivery(DeliveryBase):
    """One card about one event to one Teams integration."""

    target_field = "integration"

    integration = models.ForeignKey(
        TeamsIntegration, on_delete=models.CASCADE, related_name="deliveries"
    )

    class Meta(DeliveryBase.Meta):
        verbose_name = "Teams delivery"
        verbose_name_plural = "Teams deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "integration"], name="one_teams_card_per_event"
            )
        ]


class TeamsDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(TeamsDelivery, on_delete=models.CASCADE, related_name="attempts")

    class Meta(DeliveryAttemptBase.Meta):
        verbose_name = "Teams delivery attempt"
        verbose_name_plural = "Teams delivery attempts"
