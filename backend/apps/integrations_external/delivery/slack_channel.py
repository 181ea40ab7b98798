"""The Slack channel. (Transport and health hooks: see issue 4; being built.)"""

from __future__ import annotations

from apps.integrations_external.delivery.channels import Channel, SendResult, register
from apps.integrations_external.models import Event, SlackDelivery, SlackIntegration


def build_delivery(event: Event, integration: SlackIntegration) -> SlackDelivery:
    return SlackDelivery(
        event=event, event_type=event.type, payload=event.envelope(), integration=integration
    )


class _NotYetTransport:
    def send(self, delivery: SlackDelivery) -> SendResult:
        return SendResult(SendResult.FAILED, error="Slack transport not configured")


CHANNEL = register(
    Channel(
        name="slack",
        delivery_model=SlackDelivery,
        target_queryset=lambda: SlackIntegration.objects.filter(is_healthy=True),
        owner_path="owner",
        project_scoped=True,
        build_delivery=build_delivery,
        transport_factory=_NotYetTransport,
        max_retries=lambda delivery: 8,
    )
)
