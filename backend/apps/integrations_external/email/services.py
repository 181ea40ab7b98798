"""EmailService: everything email does, behind the seed's method names.

Two halves:
  - *publishing* (send_workflow_notification, send_system_alert, send_daily_summary, notify_user,
    send_test_email …) records an event addressed to people's email settings; the delivery
    engine sends it later, with retries, exactly once per (event, person);
  - *sending* (send_email) hands one finished multipart message to Django's email backend; the
    email channel's transport calls it and turns SMTP errors into retry / failed.

Platform actions reach email without this class: signals → events.publish → routing → the
email channel. The notification methods here are for sending one event's email by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.email.models import (
    EmailDelivery,
    EmailNotificationSettings,
    SentSummary,
)
from apps.integrations_external.email.selectors import summary_data, summary_window
from apps.integrations_external.email.unsubscribe import ALL_SWITCHES, read_unsubscribe_token
from apps.integrations_external.pipeline.models import Event
from core.api.exceptions import Refused

logger = logging.getLogger(__name__)

SUMMARY_EVENT_TYPES = {
    SentSummary.Period.DAILY: "email.daily_summary",
    SentSummary.Period.WEEKLY: "email.weekly_summary",
}
SUMMARY_SWITCHES = {
    SentSummary.Period.DAILY: "daily_summary",
    SentSummary.Period.WEEKLY: "weekly_summary",
}


class NoEmailAddress(Refused):
    """The user has no email address to send to (the API answers 400 with the message)."""

    def __init__(self) -> None:
        super().__init__(
            "Your account has no email address. Add one to your profile, then try again."
        )


@dataclass(frozen=True)
class OutgoingEmail:
    """One finished message: what the transport hands to Django's email backend."""

    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]


# --- Settings and links ---------------------------------------------------------------------


def settings_for(user: AbstractBaseUser) -> EmailNotificationSettings:
    """The user's settings, created with defaults on first use."""
    row, _ = EmailNotificationSettings.objects.get_or_create(user=user)
    return row


def public_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def sender_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- The service ------------------------------------------------------------------------------


class EmailService:
    """The seed's email service. Stateless; methods are usable on the class or an instance."""

    # -- sending (called by the email channel's transport) --

    @staticmethod
    def send_email(message: OutgoingEmail, *, connection=None) -> None:
        """Send one multipart (text + HTML) message through Django's configured email backend.

        Raises the backend's errors (smtplib.SMTPException, OSError, TimeoutError) so the
        caller decides what is temporary and what is permanent.
        """
        mail = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers=message.headers,
            connection=connection or get_connection(fail_silently=False),
        )
        mail.attach_alternative(message.html, "text/html")
        mail.send(fail_silently=False)

    # -- publishing one person's email --

    @staticmethod
    def _publish_to(
        user: AbstractBaseUser, event_type: str, data: dict[str, Any]
    ) -> EmailDelivery | None:
        if not user.email:
            raise NoEmailAddress()
        row = settings_for(user)
        from apps.integrations_external.pipeline.events import publish

        event = publish(event_type, data, targets={"email": [row]})
        return EmailDelivery.objects.filter(event=event, recipient=user).first()

    @classmethod
    def send_test_email(cls, user: AbstractBaseUser) -> EmailDelivery | None:
        """Queue a test email to the user (raises NoEmailAddress)."""
        return cls._publish_to(
            user, "email.test", {"requested_at": _iso(timezone.now()), "to": user.email}
        )

    @classmethod
    def notify_user(
        cls, user: AbstractBaseUser, subject: str, text: str, html: str | None = None
    ) -> EmailDelivery | None:
        """Email one person a notice about their integrations (e.g. "your webhook endpoint was
        disabled"), through the durable delivery path. Returns None, without raising, when the
        person has no address or has turned integration notices off."""
        if not user.email or not user.is_active or not settings_for(user).integration_notices:
            return None
        return cls._publish_to(
            user, "email.notice", {"subject": subject, "text": text, "html": html}
        )

    # -- one event's email by hand (the automatic path is signals → publish → routing) --

    @staticmethod
    def _publish_email_only(
        event_type: str, data: dict[str, Any], *, project=None, actor=None
    ) -> Event:
        from apps.integrations_external.pipeline import channels, routing
        from apps.integrations_external.pipeline.events import publish

        channel = channels.get("email")
        probe = Event(type=event_type, project=project, actor=actor, data=data)
        channel.prepare(probe)
        targets = routing.targets_for(probe, channel)
        return publish(event_type, data, project=project, actor=actor, targets={"email": targets})

    @classmethod
    def send_workflow_notification(cls, execution, actor=None) -> Event:
        event_type = "workflow.completed" if execution.status == "completed" else "workflow.failed"
        return cls._publish_email_only(
            event_type,
            catalog.workflow_execution_data(execution, None),
            project=execution.workflow.project,
            actor=actor,
        )

    @classmethod
    def send_command_notification(cls, execution, actor=None) -> Event:
        return cls._publish_email_only(
            "command.executed",
            catalog.command_execution_data(execution),
            project=execution.command.project,
            actor=actor,
        )

    @classmethod
    def send_system_alert(cls, alert, actor=None) -> Event:
        return cls._publish_email_only(
            "system.alert", catalog.system_alert_data(alert), actor=actor
        )

    # -- summaries --

    @staticmethod
    def send_summary(
        user: AbstractBaseUser, period: str, now: datetime | None = None
    ) -> SentSummary | None:
        """Claim and send the user's summary for the last complete `period`.

        Returns the claim (outcome queued or empty), or None when it was claimed before or the
        user cannot receive it. The claim, the event and its delivery commit together, so a
        crash sends nothing and a rerun sends once.
        """
        if not user.is_active or not user.email:
            return None
        row = settings_for(user)
        if not getattr(row, SUMMARY_SWITCHES[period]):
            return None
        start, end = summary_window(period, now)
        if SentSummary.objects.filter(user=user, period=period, period_start=start).exists():
            return None
        from apps.integrations_external.pipeline.events import publish

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

    @classmethod
    def send_daily_summary(
        cls, user: AbstractBaseUser, now: datetime | None = None
    ) -> SentSummary | None:
        return cls.send_summary(user, SentSummary.Period.DAILY, now)

    @classmethod
    def send_weekly_summary(
        cls, user: AbstractBaseUser, now: datetime | None = None
    ) -> SentSummary | None:
        return cls.send_summary(user, SentSummary.Period.WEEKLY, now)

    @classmethod
    def send_summaries(cls, period: str, now: datetime | None = None) -> dict[str, int]:
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
            users.filter(**{f"email_notification_settings__{switch}": True})
            .order_by("pk")
            .iterator()
        ):
            claim = cls.send_summary(user, period, now)
            if claim is None:
                counts["skipped"] += 1
            else:
                counts[claim.outcome] += 1
        logger.info("%s summaries: %s", period, counts)
        return counts

    # -- unsubscribe --

    @staticmethod
    def unsubscribe(token: str) -> tuple[EmailNotificationSettings, str]:
        """Turn off the switch the token names (raises BadUnsubscribeToken, or
        EmailNotificationSettings.DoesNotExist-like User.DoesNotExist for a deleted user)."""
        user_id, switch = read_unsubscribe_token(token)
        user = get_user_model().objects.get(pk=user_id)
        row = settings_for(user)
        names = EmailNotificationSettings.SWITCHES if switch == ALL_SWITCHES else (switch,)
        for name in names:
            setattr(row, name, False)
        row.save(update_fields=[*names, "updated_at"])
        logger.info("user %s unsubscribed from %s", user_id, switch)
        return row, switch
