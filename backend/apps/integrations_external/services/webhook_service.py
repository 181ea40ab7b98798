"""WebhookService: the seed's webhook operations on top of the shared pipeline."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.events import publish
from apps.integrations_external.models import Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)


class WebhookService:
    def __init__(self, endpoint: WebhookEndpoint):
        self.endpoint = endpoint

    # --- sending -------------------------------------------------------------------------
    def send_test(self, actor=None) -> WebhookDelivery:
        """A `webhook.test` event through the real delivery path, to this endpoint only."""
        event = publish(
            "webhook.test",
            {"message": "This is a test event.", "endpoint": {"id": self.endpoint.pk}},
            actor=actor,
            targets={"webhook": [self.endpoint]},
        )
        return WebhookDelivery.objects.get(event=event, endpoint=self.endpoint)

    @staticmethod
    def trigger_for_event(event_type: str, data: dict, *, project=None, actor=None) -> Event:
        """Publish an event to every matching target (webhooks and the other channels)."""
        return publish(event_type, data, project=project, actor=actor)

    def trigger_workflow_completion(self, execution) -> Event:
        event_type = "workflow.completed" if execution.status == "completed" else "workflow.failed"
        return publish(
            event_type,
            catalog.workflow_execution_data(execution, None),
            project=execution.workflow.project,
            targets={"webhook": [self.endpoint]},
        )

    def trigger_command_execution(self, execution) -> Event:
        return publish(
            "command.executed",
            catalog.command_execution_data(execution),
            project=execution.command.project,
            targets={"webhook": [self.endpoint]},
        )

    # --- health ---------------------------------------------------------------------------
    @staticmethod
    def disable_endpoint(endpoint_id: int, reason: str) -> bool:
        now = timezone.now()
        with transaction.atomic():
            changed = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
                is_active=False, disabled_at=now, disabled_reason=reason
            )
            if changed:
                endpoint = WebhookEndpoint.objects.select_related("owner").get(pk=endpoint_id)
                logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
                from apps.alerts.services import system_alert_raise

                system_alert_raise(
                    title=f"Webhook endpoint disabled: {endpoint}",
                    message=f"{reason} Owner: {endpoint.owner.get_username()}. "
                    "Fix the receiver, then re-enable it (PATCH is_active=true) or send a test.",
                    severity="warning",
                    source=f"webhooks/{endpoint_id}",
                )
        return bool(changed)

    @staticmethod
    def check_auto_disable(endpoint_ids: list[int]) -> None:
        """Disable endpoints that kept failing: N exhausted deliveries in a row, or failing for
        days (anchors: GitLab, Svix)."""
        if not endpoint_ids:
            return
        limit = settings.WEBHOOK_AUTO_DISABLE_AFTER_FAILURES
        cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_AUTO_DISABLE_AFTER_DAYS)
        for endpoint in WebhookEndpoint.objects.filter(pk__in=endpoint_ids, is_active=True):
            if endpoint.consecutive_failures >= limit:
                WebhookService.disable_endpoint(
                    endpoint.pk,
                    f"{endpoint.consecutive_failures} deliveries in a row failed after all retries.",
                )
            elif endpoint.failing_since and endpoint.failing_since < cutoff:
                WebhookService.disable_endpoint(
                    endpoint.pk, f"Every delivery has failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
                )
