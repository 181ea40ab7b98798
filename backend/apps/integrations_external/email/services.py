"""Email: one person's email (EmailService) and what needs no person (plain functions).

Verbs say what happens now:
  - *queue_…* records an event addressed to people's email settings; the delivery engine
    sends it later, with retries, exactly once per (event, person): `EmailService(user)
    .queue_test_email()`, `.queue_notice()`, `.queue_daily_summary()`, and for everyone
    concerned `email_queue_workflow_notification()`, `email_queue_system_alert()` …;
  - *send* (`email_send`) hands one finished multipart message to Django's email backend now;
    the email channel's transport calls it and turns SMTP errors into retry / failed.

Platform actions reach email without these: signals → events.publish → routing → the email
channel. The queue functions here are for one event's email by hand. Summary data is read by
email/selectors.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.email.channel import send_outgoing
from apps.integrations_external.email.messages import OutgoingEmail
from apps.integrations_external.email.models import (
    EmailDelivery,
    EmailNotificationSettings,
    SentSummary,
)
from apps.integrations_external.email.selectors import summary_data, summary_window
from apps.integrations_external.email.unsubscribe import ALL_SWITCHES, read_unsubscribe_token
from apps.integrations_external.pipeline import channels, routing
from apps.integrations_external.pipeline.engine import reopen
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.models import DeliveryStatus, Event
from apps.integrations_external.pipeline.scheduling import enqueue_on_commit
from core.api.exceptions import Refused

logger = logging.getLogger(__name__)

SUMMARY_EVENT_TYPES: dict[str, str] = {
    SentSummary.Period.DAILY: "email.daily_summary",
    SentSummary.Period.WEEKLY: "email.weekly_summary",
}
SUMMARY_SWITCHES: dict[str, str] = {
    SentSummary.Period.DAILY: "daily_summary",
    SentSummary.Period.WEEKLY: "weekly_summary",
}


class NoEmailAddress(Refused):
    """The user has no email address to send to (the API answers 400 with the message)."""

    def __init__(self) -> None:
        super().__init__(
            "Your account has no email address. Add one to your profile, then try again."
        )


# --- Settings and links ---------------------------------------------------------------------


def settings_for(user: User) -> EmailNotificationSettings:
    """The user's settings, created with defaults on first use."""
    row, _ = EmailNotificationSettings.objects.get_or_create(user=user)
    return row


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- Sending now (the email channel's transport) ---------------------------------------------


def email_send(*, message: OutgoingEmail, connection: Any = None) -> None:
    """Send one message now (email/channel.py's `send_outgoing`: the channel's transport).
    Raises the backend's errors so the caller decides what is temporary and what is not."""
    send_outgoing(message, connection=connection)


# --- Queueing one event's email by hand (the automatic path: signals → publish → routing) --


def _queue_email_only(
    event_type: str, data: dict[str, Any], *, project: Any = None, actor: Any = None
) -> Event:
    channel = channels.get("email")
    probe = Event(type=event_type, project=project, actor=actor, data=data)
    channel.prepare(probe)
    targets = routing.targets_for(probe, channel)
    return publish(event_type, data, project=project, actor=actor, targets={"email": targets})


def email_queue_workflow_notification(*, execution: Any, actor: Any = None) -> Event:
    """Queue the email of a finished workflow execution to the people who get it."""
    event_type = "workflow.completed" if execution.status == "completed" else "workflow.failed"
    return _queue_email_only(
        event_type,
        catalog.workflow_execution_data(execution, None),
        project=execution.workflow.project,
        actor=actor,
    )


def email_queue_command_notification(*, execution: Any, actor: Any = None) -> Event:
    """Queue the email of a command execution to the people who get it."""
    return _queue_email_only(
        "command.executed",
        catalog.command_execution_data(execution),
        project=execution.command.project,
        actor=actor,
    )


def email_queue_system_alert(*, alert: Any, actor: Any = None) -> Event:
    """Queue the email of a system alert to the people who get it."""
    return _queue_email_only("system.alert", catalog.system_alert_data(alert), actor=actor)


def email_queue_summaries(*, period: str, now: datetime | None = None) -> dict[str, int]:
    """Every active user with an address and the switch on: claim and queue their summary."""
    if period not in SUMMARY_SWITCHES:
        raise ValueError(f"unknown summary period {period!r}")
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    # First use: people who never opened their settings get the defaults.
    EmailNotificationSettings.objects.bulk_create(
        [
            EmailNotificationSettings(user=u)
            for u in users.filter(email_notification_settings__isnull=True)
        ],
        ignore_conflicts=True,
    )
    switch = SUMMARY_SWITCHES[period]
    counts = {"queued": 0, "empty": 0, "skipped": 0}
    for user in (
        users.filter(**{f"email_notification_settings__{switch}": True}).order_by("pk").iterator()
    ):
        claim = EmailService(user).queue_summary(period=period, now=now)
        if claim is None:
            counts["skipped"] += 1
        else:
            counts[claim.outcome] += 1
    logger.info("%s summaries: %s", period, counts)
    return counts


def email_unsubscribe(*, token: str) -> tuple[EmailNotificationSettings, str]:
    """Turn off the switch the token names (raises BadUnsubscribeToken, or User.DoesNotExist
    for a deleted user)."""
    user_id, switch = read_unsubscribe_token(token)
    user = get_user_model().objects.get(pk=user_id)
    row = settings_for(user)
    names = EmailNotificationSettings.SWITCHES if switch == ALL_SWITCHES else (switch,)
    for name in names:
        setattr(row, name, False)
    row.save(update_fields=[*names, "updated_at"])
    logger.info("user %s unsubscribed from %s", user_id, switch)
    return row, switch


def email_deliveries_resend(*, deliveries: QuerySet[EmailDelivery]) -> int:
    """Queue the failed ones among `deliveries` again (the others are left alone: a sent
    email is not sent twice by mistake). Returns how many."""
    failed = list(deliveries.filter(status=DeliveryStatus.FAILED))
    for delivery in failed:
        reopen(delivery)
    EmailDelivery.objects.bulk_update(
        failed, ["status", "next_attempt_at", "completed_at", "locked_until", "lease_token"]
    )
    enqueue_on_commit("email", [d.pk for d in failed])
    return len(failed)


# --- The service: one person's email ---------------------------------------------------------


class EmailService:
    """One person's email: what is queued for them. Sending happens in the email channel."""

    def __init__(self, user: User) -> None:
        self.user = user

    @staticmethod
    def send_email(message: OutgoingEmail, *, connection: Any = None) -> None:
        """`email_send`, for the email channel's transport, which calls it on the class (it
        moves to email/channel.py with the channel's rewrite)."""
        email_send(message=message, connection=connection)

    def _queue(self, event_type: str, data: dict[str, Any]) -> EmailDelivery | None:
        user = self.user
        if not user.email:
            raise NoEmailAddress()
        row = settings_for(user)
        event = publish(event_type, data, targets={"email": [row]})
        return EmailDelivery.objects.filter(event=event, recipient=user).first()

    def queue_test_email(self) -> EmailDelivery | None:
        """Queue a test email to this person (raises NoEmailAddress)."""
        return self._queue(
            "email.test", {"requested_at": _iso(timezone.now()), "to": self.user.email}
        )

    def queue_notice(
        self, *, subject: str, text: str, html: str | None = None
    ) -> EmailDelivery | None:
        """Queue a notice about this person's integrations (e.g. "your webhook endpoint was
        disabled") on the durable delivery path. None, without raising, when the person has
        no address or has turned integration notices off."""
        user = self.user
        if not user.email or not user.is_active or not settings_for(user).integration_notices:
            return None
        return self._queue("email.notice", {"subject": subject, "text": text, "html": html})

    def queue_summary(self, *, period: str, now: datetime | None = None) -> SentSummary | None:
        """Claim and queue this person's summary for the last complete `period`.

        Returns the claim (outcome queued or empty), or None when it was claimed before or the
        person cannot receive it. The claim, the event and its delivery commit together, so a
        crash queues nothing and a rerun queues once.
        """
        user = self.user
        if not user.is_active or not user.email:
            return None
        row = settings_for(user)
        if not getattr(row, SUMMARY_SWITCHES[period]):
            return None
        start, end = summary_window(period, now)
        if SentSummary.objects.filter(user=user, period=period, period_start=start).exists():
            return None
        try:
            with transaction.atomic():
                claim = SentSummary.objects.create(
                    user=user,
                    period=period,
                    period_start=start,
                    period_end=end,
                    outcome=SentSummary.Outcome.EMPTY,
                )
                data = summary_data(user, period, start, end)
                claim.item_count = data["item_count"]
                if data["item_count"]:
                    claim.event = publish(
                        SUMMARY_EVENT_TYPES[period], data, targets={"email": [row]}
                    )
                    claim.outcome = SentSummary.Outcome.QUEUED
                claim.save(update_fields=["item_count", "event", "outcome"])
        except IntegrityError:
            return None  # another run claimed it first
        return claim

    def queue_daily_summary(self, *, now: datetime | None = None) -> SentSummary | None:
        return self.queue_summary(period=SentSummary.Period.DAILY, now=now)

    def queue_weekly_summary(self, *, now: datetime | None = None) -> SentSummary | None:
        return self.queue_summary(period=SentSummary.Period.WEEKLY, now=now)
