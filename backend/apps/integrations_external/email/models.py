from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.integrations_external.pipeline.models import DeliveryAttemptBase, DeliveryBase


class EmailNotificationSettings(models.Model):
    """One person's email choices; created with defaults on first use."""

    # Event category → the switch that turns it on (read by the one routing rule).
    EVENT_SWITCHES = {
        "workflow": "workflow_completion",
        "command": "command_execution",
        "alert": "system_alerts",
        "project": "project_updates",
    }
    # The switches of the first settings API: a PUT names them all. A switch added since goes
    # into ADDED_SWITCHES, so clients written against the first six keep working.
    ORIGINAL_SWITCHES = (
        "workflow_completion",
        "command_execution",
        "system_alerts",
        "project_updates",
        "daily_summary",
        "weekly_summary",
    )
    ADDED_SWITCHES = ("integration_notices",)
    # Every switch a person can turn off, e.g. from an email's one-click unsubscribe link.
    SWITCHES = ORIGINAL_SWITCHES + ADDED_SWITCHES

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="email_notification_settings",
    )
    workflow_completion = models.BooleanField(
        default=True, help_text="A workflow execution in one of my projects completed or failed."
    )
    command_execution = models.BooleanField(
        default=True, help_text="A command execution in one of my projects finished."
    )
    system_alerts = models.BooleanField(
        default=True, help_text="A system alert was raised (staff only)."
    )
    project_updates = models.BooleanField(
        default=False, help_text="One of my projects changed, a story was created, a PR merged."
    )
    daily_summary = models.BooleanField(default=False, help_text="A summary of the last day.")
    weekly_summary = models.BooleanField(default=True, help_text="A summary of the last week.")
    integration_notices = models.BooleanField(
        default=True,
        help_text="Notices about my integrations (e.g. a webhook endpoint was disabled).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "email notification settings"

    def __str__(self) -> str:
        return f"Email settings of {self.user}"


class EmailDelivery(DeliveryBase):
    """One email to one person about one event: the sent-mail history."""

    target_field = "recipient"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # The address at fan-out time: the history says where the mail went.
    to_address = models.EmailField()
    subject = models.CharField(max_length=300, blank=True)
    # Stable for every attempt of this delivery, so a resend is recognisable as the same mail.
    message_id = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta(DeliveryBase.Meta):
        verbose_name_plural = "email deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # Nobody gets the same notification twice, however often fan-out runs.
            models.UniqueConstraint(
                fields=["event", "recipient"], name="one_email_per_event_and_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.to_address} ({self.status})"


class EmailDeliveryAttempt(DeliveryAttemptBase):
    delivery = models.ForeignKey(EmailDelivery, on_delete=models.CASCADE, related_name="attempts")


class SentSummary(models.Model):
    """The claim on one person's summary for one period: taken before anything is sent, so a
    summary goes out at most once however often (or however concurrently) the job runs."""

    class Period(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Outcome(models.TextChoices):
        QUEUED = "queued", "Queued for delivery"
        EMPTY = "empty", "Nothing to report (not sent)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=10, choices=Period.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    item_count = models.PositiveIntegerField(default=0)
    event = models.ForeignKey(
        "integrations_external.Event",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        verbose_name_plural = "sent summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period", "period_start"], name="one_summary_per_user_and_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} summary of {self.user} from {self.period_start:%Y-%m-%d %H:%M}"
