"""The app's models, defined in the pipeline and in each provider's package; imported here so
Django registers them under the one app label (`integrations_external`)."""

from apps.integrations_external.email.models import (
    EmailDelivery,
    EmailDeliveryAttempt,
    EmailNotificationSettings,
    SentSummary,
)
from apps.integrations_external.github.models import (
    GitHubAppInstallState,
    GitHubIntegration,
    GitHubIssueDelivery,
    GitHubIssueDeliveryAttempt,
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
    GitHubWorkflowRun,
)
from apps.integrations_external.pipeline.models import DeliveryStatus, Event, TargetPace
from apps.integrations_external.slack.models import (
    SlackDelivery,
    SlackDeliveryAttempt,
    SlackIntegration,
    SlackOAuthState,
)
from apps.integrations_external.teams.models import (
    TeamsDelivery,
    TeamsDeliveryAttempt,
    TeamsIntegration,
)
from apps.integrations_external.webhooks.models import (
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
    "GitHubAppInstallState",
    "GitHubIntegration",
    "GitHubIssueDelivery",
    "GitHubIssueDeliveryAttempt",
    "GitHubIssueLink",
    "GitHubPullRequest",
    "GitHubWebhookDelivery",
    "GitHubWorkflowRun",
    "SentSummary",
    "SlackDelivery",
    "SlackDeliveryAttempt",
    "SlackIntegration",
    "SlackOAuthState",
    "TargetPace",
    "TeamsDelivery",
    "TeamsDeliveryAttempt",
    "TeamsIntegration",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
]
