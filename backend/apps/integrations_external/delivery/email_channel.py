"""The email channel. (Transport and messages: see issue 6; being built.)"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from apps.integrations_external.delivery.channels import Channel, SendResult, register
from apps.integrations_external.models import EmailDelivery, EmailNotificationSettings, Event


def prepare(event: Event) -> None:
    """Settings are created with defaults on first use: make sure every possible recipient has
    a row before the routing rule looks at the switches."""
    users = get_user_model().objects.filter(is_active=True, email_notification_settings__isnull=True)
    if event.type == "system.alert":
        users = users.filter(is_staff=True)
    elif event.project_id is not None:
        project = event.project
        users = users.filter(pk__in=[project.owner_id, *project.members.values_list("pk", flat=True)])
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
        event=event, event_type=event.type, payload=event.envelope(), recipient=user, to_address=user.email
    )


class _NotYetTransport:
    def send(self, delivery: EmailDelivery) -> SendResult:
        return SendResult(SendResult.FAILED, error="Email transport not configured")


CHANNEL = register(
    Channel(
        name="email",
        delivery_model=EmailDelivery,
        target_queryset=lambda: EmailNotificationSettings.objects.select_related("user"),
        owner_path="user",
        project_scoped=False,
        build_delivery=build_delivery,
        transport_factory=_NotYetTransport,
        max_retries=lambda delivery: 8,
        prepare=prepare,
    )
)
