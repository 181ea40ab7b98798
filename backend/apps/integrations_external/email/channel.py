"""The email channel: one person's email about one event, sent through Django's email backend.

SMTP outcomes map onto the engine's results:
  - connection refused / reset, timeouts, disconnects, 4xx replies → RETRY (back-off);
  - a 5xx reply (e.g. 550 no such mailbox for that recipient) → FAILED, recorded, not retried.
"""

from __future__ import annotations

import dataclasses
import smtplib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import QuerySet

from apps.integrations_external.email.messages import OutgoingEmail, outgoing_for
from apps.integrations_external.email.models import EmailDelivery, EmailNotificationSettings
from apps.integrations_external.pipeline import compiled, routing
from apps.integrations_external.pipeline.channels import (
    Channel,
    Outcome,
    Results,
    SendResult,
    register,
)
from apps.integrations_external.pipeline.models import Event


def prepare(event: Event, people: list[int] | None = None) -> None:
    """Settings are created with defaults on first use: make sure every possible recipient has
    a row before the routing rule looks at the switches. `people`: the project's owner and
    members, if the caller read them already."""
    values: dict[str, Any] = {}
    if event.type == "system.alert":
        kind = "alert"
    elif event.project is not None:
        kind = "project"
        values["people"] = routing.project_people(event.project) if people is None else people
    elif event.actor_id is not None:
        kind = "actor"
        values["actor"] = event.actor_id
    else:
        return
    # Compiled once per shape (pipeline/compiled.py): this runs for every routed event.
    missing = compiled.fetch(
        ("email-settings-missing", kind), lambda v: _without_settings(kind, v), values
    )
    if missing:
        EmailNotificationSettings.objects.bulk_create(
            [EmailNotificationSettings(user_id=pk) for pk in missing], ignore_conflicts=True
        )


def _without_settings(kind: str, v: compiled.Values) -> QuerySet[Any]:
    """The ids of the active users of the rule's `kind` that have no settings row yet."""
    users = get_user_model().objects.filter(
        is_active=True, email_notification_settings__isnull=True
    )
    if kind == "alert":
        users = users.filter(is_staff=True)
    elif kind == "project":
        users = users.filter(pk__in=v["people"])
    else:
        users = users.filter(pk=v["actor"])
    return users.order_by().values_list("pk", flat=True)


def delivery_row(settings_row: EmailNotificationSettings) -> dict[str, Any] | None:
    user = settings_row.user
    if not user.email:
        return None
    # The address at fan-out time: the history says where the mail went.
    return {"recipient_id": user.pk, "to_address": user.email}


def _smtp_reply(code: int, message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


def _by_code(code: int, error: str) -> SendResult:
    """4xx: the server says try later; 5xx: it will never take this mail as it is."""
    outcome = Outcome.FAILED if 500 <= code < 600 else Outcome.RETRY
    return SendResult(outcome, response_status=code, response_body=error, error=error)


def send_outgoing(message: OutgoingEmail, *, connection: Any = None) -> None:
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


def send_and_classify(outgoing: OutgoingEmail) -> SendResult:
    """Send one message; the backend's answer as the engine's result."""
    try:
        send_outgoing(outgoing)
    except smtplib.SMTPRecipientsRefused as exc:
        code, message = next(iter(exc.recipients.values()), (450, b"recipient refused"))
        return _by_code(code, _smtp_reply(code, message))
    except (
        smtplib.SMTPAuthenticationError,
        smtplib.SMTPConnectError,
        smtplib.SMTPHeloError,
        smtplib.SMTPSenderRefused,
    ) as exc:
        # The server or our own configuration, not this recipient: worth retrying once the
        # server recovers or an operator fixes the settings.
        error = f"{type(exc).__name__}: " + _smtp_reply(exc.smtp_code, exc.smtp_error)
        return SendResult(Outcome.RETRY, response_status=exc.smtp_code, error=error)
    except smtplib.SMTPResponseException as exc:  # the message refused after DATA
        return _by_code(exc.smtp_code, _smtp_reply(exc.smtp_code, exc.smtp_error))
    except (smtplib.SMTPException, OSError) as exc:
        # Connection refused/reset, timeouts, disconnects: the server may be back later.
        return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}".strip())
    except Exception as exc:
        # Provider backends (django-anymail): a provider that rejects the recipient has
        # answered for good; anything else goes to the engine, which retries it.
        if type(exc).__name__ != "AnymailRecipientsRefused":
            raise
        return SendResult(Outcome.FAILED, error=f"recipient refused by the provider: {exc}")
    return SendResult(Outcome.SUCCESS)


class EmailTransport:
    """Renders the delivery's email and hands it to Django's backend (`send_outgoing`).

    A new backend connection per message: the engine sends from several threads, and SMTP
    connections are neither thread-safe nor reliably alive between messages.
    """

    def send(self, delivery: EmailDelivery) -> SendResult:
        outgoing, rendered = outgoing_for(delivery)
        fields = {"subject": outgoing.subject, "message_id": outgoing.headers["Message-ID"]}
        row = EmailNotificationSettings.objects.filter(user_id=delivery.recipient_id).first()
        if (
            row is not None
            and rendered.switch in EmailNotificationSettings.SWITCHES
            and not getattr(row, rendered.switch)
        ):
            # Turned off (e.g. unsubscribed) after this email was queued: respect it.
            return SendResult(
                Outcome.FAILED,
                error=f"not sent: the recipient turned {rendered.switch} off",
                delivery_fields=fields,
            )
        return dataclasses.replace(send_and_classify(outgoing), delivery_fields=fields)


class EmailChannel(Channel):
    name = "email"
    delivery_model = EmailDelivery
    owner_path = "user"
    project_scoped = False
    concurrency = 4

    def targets(self) -> QuerySet[EmailNotificationSettings]:
        return EmailNotificationSettings.objects.select_related("user")

    def prepare(self, event: Event, *, people: list[int] | None = None) -> None:
        prepare(event, people)

    def delivery_row(
        self, event: Event, target: EmailNotificationSettings
    ) -> dict[str, Any] | None:
        return delivery_row(target)

    def transport(self) -> EmailTransport:
        return self._shared(EmailTransport)

    def max_retries(self, delivery: EmailDelivery) -> int:
        return 8

    def after_results(self, results: Results) -> None:
        return None  # email keeps no health record: a bounce is the recipient's, not ours


CHANNEL = register(EmailChannel())
