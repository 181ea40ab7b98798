from apps.integrations_external.models.deliveries import DeliveryStatus
from apps.integrations_external.models.email import (
    EmailDelivery,
    EmailDeliveryAttempt,
    EmailNotificationSettings,
)
from apps.integrations_external.models.events import Event
from apps.integrations_external.models.github import GitHubIntegration
from apps.integrations_external.models.slack import (
    SlackDelivery,
    SlackDeliveryAttempt,
    SlackIntegration,
)
from apps.integrations_external.models.webhooks import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

__all__ = [
    "DeliveryStatus",
    "EmailDelivery",
    "EmailDeliveryAttempt",
    "EmailNotificationSettings",
    "Event",
    "GitHubIntegration",
    "SlackDelivery",
    "SlackDeliveryAttempt",
    "SlackIntegration",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
]
