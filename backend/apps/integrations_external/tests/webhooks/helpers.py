"""Helpers of the webhook tests: drive retries when due (Celery is eager in tests), moving the
clock (time-machine's `time_machine` fixture) instead of sleeping."""

from __future__ import annotations

from time_machine import TimeMachineFixture

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver
from tests_support.clock import deliver_when_due

API = "/api/v1/integrations-external"


def run_when_due(delivery: WebhookDelivery, clock: TimeMachineFixture) -> None:
    """Run the retry of `delivery` at the moment it is due, moving the clock there. A run a
    millisecond before claims nothing: the engine keeps the wait it chose."""
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is not None
    deliver_when_due("webhook", delivery, clock)


def run_until_finished(
    delivery: WebhookDelivery, clock: TimeMachineFixture, max_rounds: int = 20
) -> WebhookDelivery:
    """Run each retry of `delivery` when due until it succeeds or fails for good."""
    for _ in range(max_rounds):
        delivery.refresh_from_db()
        if not delivery.is_open:
            return delivery
        if delivery.next_attempt_at is None:  # never tried yet: due now
            deliver("webhook", [delivery.pk])
        else:
            run_when_due(delivery, clock)
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
