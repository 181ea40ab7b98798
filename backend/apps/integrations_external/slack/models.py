from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from apps.integrations_external.pipeline.models import (
    DeliveryAttemptBase,
    DeliveryBase,
    OwnedTargetBase,
)
from core.fields import EncryptedTextField

# Public channels start with C, private ones with C or (older) G; IDs are upper-case alphanumerics.
channel_id_validator = RegexValidator(
    r"^[CG][A-Z0-9]{6,}$",
    "Use the channel ID (like C0123456789: channel details → About), not the #name.",
)


class SlackIntegration(OwnedTargetBase):
    # Kept by the system (verification, health, sending), never written by a user.
    STATE_FIELDS = (
        "team_id",
        "bot_user_id",
        "bot_user_name",
        "is_healthy",
        "health_reason",
        "health_changed_at",
        "last_verified_at",
        "last_verification_ok",
        "last_verification_detail",
        "last_message_at",
        "disabled_at",
        "disabled_reason",
        "installed_with_oauth",
        "app_id",
        "token_expires_at",
        "created_at",
        "updated_at",
    )
    """One Slack channel that receives notifications, posted by one bot token."""

    EVENT_SWITCHES = {
        "workflow": "notify_workflow_completion",
        "command": "notify_command_execution",
        "alert": "notify_system_alerts",
        "project": "notify_project_updates",
    }

    workspace_name = models.CharField(max_length=200, blank=True)
    team_id = models.CharField(max_length=40, blank=True, help_text="Filled in by verification.")
    channel_id = models.CharField(max_length=40, validators=[channel_id_validator])
    channel_name = models.CharField(max_length=200, blank=True)
    bot_token = EncryptedTextField(
        help_text="The bot's xoxb- token; stored encrypted, never shown."
    )
    bot_user_id = models.CharField(
        max_length=40, blank=True, help_text="Filled in by verification."
    )
    bot_user_name = models.CharField(
        max_length=200, blank=True, help_text="Filled in by verification."
    )
    notify_workflow_completion = models.BooleanField(default=True)
    notify_command_execution = models.BooleanField(default=True)
    notify_system_alerts = models.BooleanField(default=False)
    notify_project_updates = models.BooleanField(default=False)
    notify_only_failures = models.BooleanField(
        default=False,
        help_text="Only failed workflows and commands, plus a 'back to normal' message when a "
        "workflow that failed last time succeeds.",
    )
    # Health: a permanent Slack error (bad token, bot removed…) marks it unhealthy; routing skips
    # unhealthy integrations until a successful verification (or send) restores them.
    is_healthy = models.BooleanField(default=True)
    health_reason = models.TextField(blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verification_ok = models.BooleanField(null=True, blank=True)
    last_verification_detail = models.TextField(blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Why it is off when the system turned it off (e.g. its creator left the project).
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    # Pacing: Slack allows about one message per second per channel. Claimed with an atomic
    # conditional UPDATE, so every worker process shares it.
    next_send_at = models.DateTimeField(null=True, blank=True)
    # Installed with "Add to Slack" (OAuth v2), not a pasted token. With Slack's token rotation
    # the bot token expires (`token_expires_at`) and `refresh_token` gets the next one.
    installed_with_oauth = models.BooleanField(default=False)
    app_id = models.CharField(max_length=40, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(OwnedTargetBase.Meta):
        verbose_name = "Slack integration"
        verbose_name_plural = "Slack integrations"

    def __str__(self) -> str:
        return f"{self.workspace_name or 'Slack'} #{self.channel_name or self.channel_id}"


class SlackOAuthState(models.Model):
    """One "Add to Slack" attempt: the `state` sent to Slack, bound to who started it and for
    which project. Single-use and short-lived; only its hash is stored."""

    state_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Slack OAuth state"

    def __str__(self) -> str:
        return f"Add to Slack by user {self.user_id} for project {self.project_id}"


class SlackDelivery(DeliveryBase):
    """One Slack message about one event to one integration."""

    target_field = "integration"

    integration = models.ForeignKey(
        SlackIntegration, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_ts = models.CharField(
        max_length=40, blank=True, help_text="Slack's id of the posted message."
    )

    class Meta(DeliveryBase.Meta):
        verbose_name = "Slack delivery"
        verbose_name_plural = "Slack deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "integration"], name="one_slack_message_per_event"
            )
        ]


class SlackDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(SlackDelivery, on_delete=models.CASCADE, related_name="attempts")

    class Meta(DeliveryAttemptBase.Meta):
        verbose_name = "Slack delivery attempt"
        verbose_name_plural = "Slack delivery attempts"
