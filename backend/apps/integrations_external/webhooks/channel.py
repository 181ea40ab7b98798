"""The webhook channel: endpoints, their deliveries, counters and auto-disable."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from apps.integrations_external.pipeline.channels import Channel, SendResult, register
from apps.integrations_external.pipeline.models import DeliveryStatus, Event
from apps.integrations_external.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.integrations_external.webhooks.transport import MAX_IN_FLIGHT, WebhookTransport


def build_delivery(event: Event, endpoint: WebhookEndpoint) -> WebhookDelivery:
    return WebhookDelivery(
        event=event, event_type=event.type, payload=event.envelope(), endpoint=endpoint
    )


def after_results(results: list[tuple[WebhookDelivery, SendResult]]) -> None:
    from apps.integrations_external.webhooks.services import WebhookService

    now = timezone.now()
    per_endpoint: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    gone: dict[int, str] = {}
    for delivery, result in results:
        if result.outcome == SendResult.DEFER:
            continue
        stats = per_endpoint[delivery.endpoint_id]
        if result.outcome == SendResult.SUCCESS:
            stats["success"] += 1
        else:
            stats["failure"] += 1
        if delivery.status == DeliveryStatus.FAILED:
            stats["exhausted"] += 1
        if result.target_problem:
            gone[delivery.endpoint_id] = result.target_problem
    # One UPDATE per distinct (success, failure, exhausted) tally, not one per endpoint: a batch
    # of 100 deliveries to 100 endpoints that all succeeded is a single statement. F()
    # expressions keep the counters exact under concurrent workers.
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for endpoint_id, stats in per_endpoint.items():
        groups[(stats["success"], stats["failure"], stats["exhausted"])].append(endpoint_id)
    for (success, failure, exhausted), endpoint_ids in groups.items():
        update = {
            "success_count": F("success_count") + success,
            "failure_count": F("failure_count") + failure,
            "last_triggered_at": now,
        }
        if success:
            update.update(consecutive_failures=0, failing_since=None)
        elif exhausted:
            update["consecutive_failures"] = F("consecutive_failures") + exhausted
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids).update(**update)
        if not success and exhausted:
            WebhookEndpoint.objects.filter(pk__in=endpoint_ids, failing_since__isnull=True).update(
                failing_since=now
            )
    for endpoint_id, reason in gone.items():
        WebhookService.disable_endpoint(endpoint_id, reason)
    WebhookService.after_test_success(
        [
            d.endpoint_id
            for d, r in results
            if r.outcome == SendResult.SUCCESS and d.event_type == "webhook.test"
        ]
    )
    if per_endpoint:
        WebhookService.check_auto_disable([i for i, s in per_endpoint.items() if s["exhausted"]])


CHANNEL = register(
    Channel(
        name="webhook",
        delivery_model=WebhookDelivery,
        target_queryset=lambda: WebhookEndpoint.objects.all(),
        owner_path="owner",
        project_scoped=True,
        build_delivery=build_delivery,
        transport_factory=WebhookTransport,
        max_retries=lambda delivery: delivery.endpoint.retry_count,
        after_results=after_results,
        concurrency=MAX_IN_FLIGHT,  # one claim: as many as libcurl keeps in flight at once
        accepts_custom=lambda endpoint, event_type: endpoint.wants_custom(event_type),
    )
)
