"""The email channel: one person's email about one event, sent through Django's email backend.

SMTP outcomes map onto the engine's results:
  - connection refused / reset, timeouts, disconnects, 4xx replies → RETRY (back-off);
  - a 5xx reply (e.g. 550 no such mailbox for that recipient) → FAILED, recorded, not retried.
"""

from __future__ import annotations

import dataclasses
import smtplib

from django.contrib.auth import get_user_model

from apps.integrations_external.email.models import EmailDelivery, EmailNotificationSettings
from apps.integrations_external.pipeline.channels import Channel, SendResult, register
from apps.integrations_external.pipeline.models import Event


def prepare(event: Event) -> None:
    """Settings are created with defaults on first use: make sure every possible recipient has
    a row before the routing rule looks at the switches."""
    users = get_user_model().objects.filter(
        is_active=True, email_notification_settings__isnull=True
    )
    if event.type == "system.alert":
        users = users.filter(is_staff=True)
    elif event.project_id is not None:
        project = event.project
        users = users.filter(
            pk__in=[project.owner_id, *project.members.values_list("pk", flat=True)]
        )
    elif event.actor_id is not None:
        users = users.filter(pk=event.actor_id)
    else:
        return
    EmailNotificationSettings.objects.bulk_create(
        [EmailNotificationSettings(user=u) for u in users], ignore_conflicts=True
    )


def build_delivery(event: Event, settings_row: EmailNotificationSettings) -> EmailDelivery | None:
    user = settings_row.user
    if not user.email:
        return None
    return EmailDelivery(
        event=event,
        event_type=event.type,
        payload=event.envelope(),
        recipient=user,
        to_address=user.email,
    )


def _smtp_reply(code: int, message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


def _by_code(code: int, error: str) -> SendResult:
    """4xx: the server says try later; 5xx: it will never take this mail as it is."""
    outcome = SendResult.FAILED if 500 <= code < 600 else SendResult.RETRY
    return SendResult(outcome, response_status=code, response_body=error, error=error)


class EmailTransport:
    """Renders the delivery's email and hands it to EmailService.send_email (Django's backend).

    A new backend connection per message: the engine sends from several threads, and SMTP
    connections are neither thread-safe nor reliably alive between messages.
    """

    def send(self, delivery: EmailDelivery) -> SendResult:
        from apps.integrations_external.email.messages import outgoing_for
        from apps.integrations_external.email.services import EmailService

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
                SendResult.FAILED,
                error=f"not sent: the recipient turned {rendered.switch} off",
                delivery_fields=fields,
            )
        try:
            EmailService.send_email(outgoing)
        except smtplib.SMTPRecipientsRefused as exc:
            code, message = next(iter(exc.recipients.values()), (450, b"recipient refused"))
            result = _by_code(code, _smtp_reply(code, message))
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPConnectError,
            smtplib.SMTPHeloError,
            smtplib.SMTPSenderRefused,
        ) as exc:
            # The server or our own configuration, not this recipient: worth retrying once the
            # server recovers or an operator fixes the settings.
            error = f"{type(exc).__name__}: " + _smtp_reply(exc.smtp_code, exc.smtp_error)
            result = SendResult(SendResult.RETRY, response_status=exc.smtp_code, error=error)
        except smtplib.SMTPResponseException as exc:  # the message refused after DATA
            result = _by_code(exc.smtp_code, _smtp_reply(exc.smtp_code, exc.smtp_error))
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused/reset, timeouts, disconnects: the server may be back later.
            result = SendResult(SendResult.RETRY, error=f"{type(exc).__name__}: {exc}".strip())
        except Exception as exc:
            # Provider backends (django-anymail): a provider that rejects the recipient has
            # answered for good; anything else goes to the engine, which retries it.
            if type(exc).__name__ != "AnymailRecipientsRefused":
                raise
            result = SendResult(
                SendResult.FAILED, error=f"recipient refused by the provider: {exc}"
            )
        else:
            result = SendResult(SendResult.SUCCESS)
        return dataclasses.replace(result, delivery_fields=fields)


CHANNEL = register(
    Channel(
        name="email",
        delivery_model=EmailDelivery,
        target_queryset=lambda: EmailNotificationSettings.objects.select_related("user"),
        owner_path="user",
        project_scoped=False,
        build_delivery=build_delivery,
        transport_factory=EmailTransport,
        max_retries=lambda delivery: 8,
        prepare=prepare,
        concurrency=4,
    )
)
