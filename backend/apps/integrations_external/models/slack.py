from __future__ import annotations

from django.db import models

from apps.integrations_external.models.deliveries import DeliveryAttemptBase, DeliveryBase
from apps.integrations_external.models.targets import OwnedTargetBase
from core.fields import EncryptedTextField


class SlackIntegration(OwnedTargetBase):
    EVENT_SWITCHES = {
        "workflow": "notify_workflow_completion",
        "command": "notify_command_execution",
        "alert": "notify_system_alerts",
        "project": "notify_project_updates",
    }

    workspace_name = models.CharField(max_length=200, blank=True)
    team_id = models.CharField(max_length=40, blank=True)
    channel_id = models.CharField(max_length=40)
    channel_name = models.CharField(max_length=200, blank=True)
    bot_token = EncryptedTextField()
    notify_workflow_completion = models.BooleanField(default=True)
    notify_command_execution = models.BooleanField(default=True)
    notify_system_alerts = models.BooleanField(default=False)
    notify_project_updates = models.BooleanField(default=False)
    notify_only_failures = models.BooleanField(
        default=False, help_text="Only failed workflows and commands (and their recovery)."
    )
    # Health: a permanent Slack error (bad token, bot removed…) marks it unhealthy.
    is_healthy = models.BooleanField(default=True)
    health_reason = models.TextField(blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verification_ok = models.BooleanField(null=True, blank=True)
    last_verification_detail = models.TextField(blank=True)
    # Pacing: Slack allows about one message per second per channel.
    next_send_at = models.DateTimeField(null=True, blank=True)

    class Meta(OwnedTargetBase.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.workspace_name or 'Slack'} #{self.channel_name or self.channel_id}"


class SlackDelivery(DeliveryBase):
    target_field = "integration"

    integration = models.ForeignKey(SlackIntegration, on_delete=models.CASCADE, related_name="deliveries")
    message_ts = models.CharField(max_length=40, blank=True)

    class Meta(DeliveryBase.Meta):
        verbose_name_plural = "Slack deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class SlackDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(SlackDelivery, on_delete=models.CASCADE, related_name="attempts")
