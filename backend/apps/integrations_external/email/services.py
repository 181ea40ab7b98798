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
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.models import EmailDelivery, EmailNotificationSettings, Event
from apps.integrations_external.models.email import SentSummary

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "integrations_external.email.unsubscribe"
# The test email's link turns every switch off ("stop all email").
ALL_SWITCHES = "all"
SUMMARY_EVENT_TYPES = {
    SentSummary.Period.DAILY: "email.daily_summary",
    SentSummary.Period.WEEKLY: "email.weekly_summary",
}
SUMMARY_SWITCHES = {
    SentSummary.Period.DAILY: "daily_summary",
    SentSummary.Period.WEEKLY: "weekly_summary",
}
SUMMARY_LENGTHS = {
    SentSummary.Period.DAILY: timedelta(days=1),
    SentSummary.Period.WEEKLY: timedelta(days=7),
}
NOTABLE_LIMIT = 10
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class NoEmailAddress(Exception):
    """The user has no email address to send to."""


class BadUnsubscribeToken(Exception):
    """The unsubscribe token is forged, tampered with or names no switch."""


@dataclass(frozen=True)
class OutgoingEmail:
    """One finished message: what the transport hands to Django's email backend."""

    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]


# --- Settings and unsubscribe tokens ---------------------------------------------------------


def settings_for(user: AbstractBaseUser) -> EmailNotificationSettings:
    """The user's settings, created with defaults on first use."""
    row, _ = EmailNotificationSettings.objects.get_or_create(user=user)
    return row


def unsubscribe_token(user_id: int, switch: str) -> str:
    """A signed, URL-safe token naming one person and one switch (no expiry: an old email's
    link must still work)."""
    return signing.dumps({"u": user_id, "s": switch}, salt=UNSUBSCRIBE_SALT, compress=False)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise BadUnsubscribeToken("This unsubscribe link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadUnsubscribeToken("This unsubscribe link is not valid.")
    switch = data.get("s")
    if switch != ALL_SWITCHES and switch not in EmailNotificationSettings.SWITCHES:
        raise BadUnsubscribeToken("This unsubscribe link names no email setting.")
    return data["u"], switch


def unsubscribe_url(user_id: int, switch: str) -> str:
    path = reverse(
        "integrations_external:email-unsubscribe",
        kwargs={"token": unsubscribe_token(user_id, switch)},
    )
    return f"{settings.PUBLIC_BASE_URL}{path}"


def public_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def sender_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


# --- Summaries: the period and its content ---------------------------------------------------


def summary_window(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last complete period before `now`, on fixed boundaries (the configured UTC hour,
    and weekday for weekly), so every run within one period computes the same window."""
    now = now or timezone.now()
    hour = settings.EMAIL_SUMMARY_HOUR_UTC
    end = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    if end > now:
        end -= timedelta(days=1)
    if period == SentSummary.Period.WEEKLY:
        weekday = WEEKDAYS.index(settings.EMAIL_WEEKLY_SUMMARY_DAY)
        end -= timedelta(days=(end.weekday() - weekday) % 7)
    elif period != SentSummary.Period.DAILY:
        raise ValueError(f"unknown summary period {period!r}")
    return end - SUMMARY_LENGTHS[period], end


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def summary_data(
    user: AbstractBaseUser, period: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """What happened in the user's projects (owner or member) in [start, end)."""
    from apps.alerts.models import SystemAlert
    from apps.commands.models import CommandExecution
    from apps.projects.models import Project
    from apps.workflows.models import WorkflowExecution

    projects = list(
        Project.objects.filter(Q(owner=user) | Q(members=user)).distinct().order_by("name", "pk")
    )
    project_ids = [p.pk for p in projects]
    window = {"completed_at__gte": start, "completed_at__lt": end}
    wf = WorkflowExecution.objects.filter(
        workflow__project_id__in=project_ids, status__in=["completed", "failed"], **window
    )
    cmd = CommandExecution.objects.filter(
        command__project_id__in=project_ids, status__in=["succeeded", "failed"], **window
    )
    updates = Event.objects.filter(
        project_id__in=project_ids,
        occurred_at__gte=start,
        occurred_at__lt=end,
        type__in=[t.name for t in catalog.EVENT_TYPES.values() if t.category == catalog.PROJECT],
    )
    per_project: dict[int, dict[str, int]] = {
        p.pk: {
            "workflows_completed": 0,
            "workflows_failed": 0,
            "commands_succeeded": 0,
            "commands_failed": 0,
            "project_updates": 0,
        }
        for p in projects
    }
    for row in wf.values("workflow__project_id", "status").annotate(n=Count("pk")):
        key = "workflows_completed" if row["status"] == "completed" else "workflows_failed"
        per_project[row["workflow__project_id"]][key] += row["n"]
    for row in cmd.values("command__project_id", "status").annotate(n=Count("pk")):
        key = "commands_succeeded" if row["status"] == "succeeded" else "commands_failed"
        per_project[row["command__project_id"]][key] += row["n"]
    for row in updates.values("project_id").annotate(n=Count("pk")):
        per_project[row["project_id"]]["project_updates"] += row["n"]

    failures: list[dict[str, Any]] = []
    for execution in (
        wf.filter(status="failed")
        .select_related("workflow__project")
        .order_by("-completed_at")[: NOTABLE_LIMIT + 1]
    ):
        failures.append(
            {
                "kind": "workflow",
                "name": execution.workflow.name,
                "project": execution.workflow.project.name,
                "at": _iso(execution.completed_at),
                "detail": (execution.error_message or "")[:300],
                "path": f"/api/v1/workflow-executions/{execution.pk}/",
            }
        )
    for execution in (
        cmd.filter(status="failed")
        .select_related("command__project")
        .order_by("-completed_at")[: NOTABLE_LIMIT + 1]
    ):
        failures.append(
            {
                "kind": "command",
                "name": execution.command.name,
                "project": execution.command.project.name,
                "at": _iso(execution.completed_at),
                "detail": f"exit code {execution.exit_code}"
                if execution.exit_code is not None
                else "",
                "path": f"/api/v1/command-executions/{execution.pk}/",
            }
        )
    failures.sort(key=lambda f: f["at"] or "", reverse=True)
    total_failures = sum(p["workflows_failed"] + p["commands_failed"] for p in per_project.values())

    alerts = None
    if user.is_staff:
        alert_qs = SystemAlert.objects.filter(created_at__gte=start, created_at__lt=end)
        by_severity = dict(alert_qs.values_list("severity").annotate(n=Count("pk")))
        notable = alert_qs.filter(severity__in=["error", "critical"]).order_by("-created_at")
        alerts = {
            "total": sum(by_severity.values()),
            "by_severity": by_severity,
            "notable": [
                {
                    "severity": a.severity,
                    "title": a.title,
                    "source": a.source,
                    "at": _iso(a.created_at),
                    "path": f"/api/v1/system-alerts/{a.pk}/",
                }
                for a in notable[:NOTABLE_LIMIT]
            ],
        }

    totals = {
        key: sum(p[key] for p in per_project.values())
        for key in (
            "workflows_completed",
            "workflows_failed",
            "commands_succeeded",
            "commands_failed",
            "project_updates",
        )
    }
    totals["alerts"] = alerts["total"] if alerts else 0
    return {
        "period": period,
        "start": _iso(start),
        "end": _iso(end),
        "totals": totals,
        "projects": [
            {"id": p.pk, "name": p.name, **per_project[p.pk]}
            for p in projects
            if any(per_project[p.pk].values())
        ],
        "failures": failures[:NOTABLE_LIMIT],
        "more_failures": max(0, total_failures - min(len(failures), NOTABLE_LIMIT)),
        "alerts": alerts,
        "item_count": sum(totals.values()),
    }


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
            raise NoEmailAddress(f"{user.get_username()} has no email address.")
        row = settings_for(user)
        from apps.integrations_external.events import publish

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
        from apps.integrations_external import routing
        from apps.integrations_external.delivery import channels
        from apps.integrations_external.events import publish

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
        from apps.integrations_external.events import publish

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
