"""Webhooks: one endpoint's operations (WebhookService) and what needs no endpoint (functions),
on top of the shared pipeline. `queue_…` and `trigger_…` only record events for the engine."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryStatus, Event
from apps.integrations_external.pipeline.scheduling import enqueue_on_commit
from apps.integrations_external.webhooks.channel import HEALTH_RESET
from apps.integrations_external.webhooks.models import (
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_secret,
)
from core.api.exceptions import InvalidTransition

logger = logging.getLogger(__name__)

# After a rotation the old secret keeps signing this long, so receivers can switch over.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def webhook_endpoint_create(*, owner: Any, **fields: Any) -> WebhookEndpoint:
    """Create an endpoint; a secret is generated unless one is given."""
    if not fields.get("secret"):
        fields["secret"] = new_webhook_secret()
    return WebhookEndpoint.objects.create(owner=owner, **fields)


def webhook_trigger_for_event(
    *, event_type: str, data: dict, project: Any = None, actor: Any = None
) -> Event:
    """Publish an event to every matching target (webhooks and the other channels)."""
    return publish(event_type, data, project=project, actor=actor)


def _copy_for_resend(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        webhook_id=delivery.webhook_id,  # same message: the receiver's idempotency key
        redelivery_of=delivery,
        next_attempt_at=now,
    )


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again as a new delivery row with the same webhook-id,
    enqueued after commit. Raises InvalidTransition while the original is still open."""
    if delivery.status in OPEN_STATUSES:
        raise InvalidTransition("This delivery is still being attempted; wait for it to finish.")
    with transaction.atomic():
        copy = _copy_for_resend(delivery, timezone.now())
        copy.save()
        enqueue_on_commit("webhook", [copy.pk])
    return copy


class WebhookService:
    """One endpoint's settings, secret, tests and recovery."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        self.endpoint = endpoint

    # --- endpoints -----------------------------------------------------------------------
    def update(self, **fields: Any) -> WebhookEndpoint:
        """Change an endpoint. Turning it on clears its health record (a re-enable); turning it
        off records that its owner did so."""
        endpoint = self.endpoint
        was_active = endpoint.is_active
        for name, value in fields.items():
            setattr(endpoint, name, value)
        if "is_active" in fields and fields["is_active"] != was_active:
            if endpoint.is_active:
                for name, value in HEALTH_RESET.items():
                    setattr(endpoint, name, value)
            else:
                endpoint.disabled_at = timezone.now()
                endpoint.disabled_reason = "Disabled by its owner."
        endpoint.save()
        return endpoint

    def enable(self) -> bool:
        """Re-enable: active again, with a clean health record. False if it was already on."""
        changed = WebhookEndpoint.objects.filter(pk=self.endpoint.pk, is_active=False).update(
            is_active=True, **HEALTH_RESET
        )
        self.endpoint.refresh_from_db()
        return bool(changed)

    def disable(self, *, reason: str = "Disabled by its owner.") -> bool:
        """Switch off by hand (no alert: nobody needs to be told what they did themselves)."""
        changed = WebhookEndpoint.objects.filter(pk=self.endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=timezone.now(), disabled_reason=reason
        )
        self.endpoint.refresh_from_db()
        return bool(changed)

    def rotate_secret(self, *, secret: str | None = None) -> str:
        """Replace the secret; the old one keeps signing (a second signature) for 24 hours.
        Returns the new secret: the only time it is shown after rotation."""
        endpoint = self.endpoint
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_GRACE
        endpoint.secret = secret or new_webhook_secret()
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        logger.info("webhook endpoint %s: secret rotated", endpoint.pk)
        return endpoint.secret

    # --- sending -------------------------------------------------------------------------
    def queue_test(self, *, actor: Any = None) -> WebhookDelivery:
        """Queue a `webhook.test` event on the real delivery path, to this endpoint only (even
        a disabled one: a successful test re-enables it, see `after_test_success`)."""
        event = publish(
            "webhook.test",
            {
                "message": "This is a test event.",
                "endpoint": {"id": self.endpoint.pk, "name": self.endpoint.name},
            },
            actor=actor,
            targets={"webhook": [self.endpoint]},
        )
        return WebhookDelivery.objects.get(event=event, endpoint=self.endpoint)

    def recover(self, *, since: datetime) -> int:
        """Re-send every message that failed since `since` and has not been delivered since
        (one new delivery per webhook-id, the most recent failure). Returns how many."""
        endpoint_deliveries = WebhookDelivery.objects.filter(endpoint=self.endpoint)
        settled = set(
            endpoint_deliveries.filter(
                Q(status=DeliveryStatus.SUCCESS) | Q(status__in=OPEN_STATUSES)
            ).values_list("webhook_id", flat=True)
        )
        latest: dict[str, WebhookDelivery] = {}
        for delivery in endpoint_deliveries.filter(
            status=DeliveryStatus.FAILED, created_at__gte=since
        ).order_by("created_at", "pk"):
            if delivery.webhook_id not in settled:
                latest[delivery.webhook_id] = delivery
        if not latest:
            return 0
        now = timezone.now()
        copies = [_copy_for_resend(d, now) for d in latest.values()]
        with transaction.atomic():
            WebhookDelivery.objects.bulk_create(copies, batch_size=500)
            ids = [c.pk for c in copies]
            if None in ids:  # backends without RETURNING
                ids = list(
                    WebhookDelivery.objects.filter(
                        endpoint=self.endpoint,
                        redelivery_of__in=list(latest.values()),
                        status=DeliveryStatus.PENDING,
                    ).values_list("pk", flat=True)
                )
            enqueue_on_commit("webhook", ids)
        logger.info("webhook endpoint %s: recovering %d deliveries", self.endpoint.pk, len(copies))
        return len(copies)

    def trigger_workflow_completion(self, *, execution: Any) -> Event:
        """Queue a workflow execution's event to this endpoint only."""
        event_type = "workflow.completed" if execution.status == "completed" else "workflow.failed"
        return publish(
            event_type,
            catalog.workflow_execution_data(execution, None),
            project=execution.workflow.project,
            targets={"webhook": [self.endpoint]},
        )

    def trigger_command_execution(self, *, execution: Any) -> Event:
        """Queue a command execution's event to this endpoint only."""
        return publish(
            "command.executed",
            catalog.command_execution_data(execution),
            project=execution.command.project,
            targets={"webhook": [self.endpoint]},
        )
