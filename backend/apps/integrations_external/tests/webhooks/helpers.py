"""Helpers of the webhook tests: drive retries when due (Celery is eager in tests)."""

from __future__ import annotations

import time

from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver

API = "/api/v1/integrations-external"


def run_until_finished(delivery: WebhookDelivery, max_rounds: int = 20) -> WebhookDelivery:
    """Run each due retry of `delivery` until it succeeds or fails for good."""
    for _ in range(max_rounds):
        delivery.refresh_from_db()
        if not delivery.is_open:
            return delivery
        if delivery.next_attempt_at:
            time.sleep(max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds()))
        deliver("webhook", [delivery.pk])
    raise AssertionError(
        f"delivery {delivery.pk} still {delivery.status} after {max_rounds} rounds"
    )


def send_one(endpoint, run_on_commit, event_type="workflow.completed", data=None, project=None):
    """Publish an event addressed to `endpoint` alone, run what commit schedules (the send),
    and return its delivery."""
    with run_on_commit():
        publish(
            event_type,
            data or {"n": 1},
            project=project,
            actor=endpoint.owner,
            targets={"webhook": [endpoint]},
        )
    return WebhookDelivery.objects.get(endpoint=endpoint)
