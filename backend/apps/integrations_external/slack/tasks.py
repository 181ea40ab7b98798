"""Celery tasks of the Slack integration. Notifications themselves go through
`integrations.deliver` (the shared engine); these are the Slack-only chores."""

from __future__ import annotations

from celery import shared_task

from apps.integrations_external.slack.models import SlackIntegration
from apps.integrations_external.slack.services import SlackService


@shared_task(name="integrations.slack.verify", ignore_result=True)
def verify_integration(integration_id: int) -> bool | None:
    """Verify one integration (re-read by id); None when it no longer exists."""
    integration = SlackIntegration.objects.filter(pk=integration_id).first()
    if integration is None:
        return None
    return SlackService(integration).verify_connection().ok
