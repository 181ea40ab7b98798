"""The Teams channel: one card per delivery, posted to the integration's Workflows webhook.

- `build_delivery` applies the integration's own filter (failures only, back to normal) on
  top of the shared routing rule.
- 2xx (Teams answers 202) is success. 429 retries after its Retry-After, 5xx and network
  errors with the engine's back-off. 400, 401, 403 and 404 are permanent: FAILED with a
  `target_problem` the owner can act on, and `after_results` marks the integration unhealthy,
  so routing skips it until a verification succeeds.
"""

from __future__ import annotations

import logging

from apps.integrations_external import catalog
from apps.integrations_external.http.errors import IntegrationError, RateLimited
from apps.integrations_external.pipeline.channels import Channel, SendResult, register
from apps.integrations_external.pipeline.models import Event
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration
from apps.integrations_external.teams.services import (
    TeamsService,
    describe_problem,
    teams_mark_delivered,
    teams_mark_unhealthy,
    teams_wants,
)

logger = logging.getLogger(__name__)


def build_delivery(event: Event, integration: TeamsIntegration) -> TeamsDelivery | None:
    if not teams_wants(integration=integration, event_type=event.type, data=event.data or {}):
        return None
    return TeamsDelivery(
        event=event, event_type=event.type, payload=event.envelope(), integration=integration
    )


class TeamsTransport:
    def send(self, delivery: TeamsDelivery) -> SendResult:
        integration = delivery.integration
        if catalog.category_of(delivery.event_type) != catalog.TEST:
            # A test may go to an unhealthy integration: that is how it is checked.
            if not integration.is_active:
                return SendResult(SendResult.FAILED, error="not sent: the integration is off")
            if not integration.is_healthy:
                return SendResult(
                    SendResult.FAILED,
                    error=f"not sent: the integration is unhealthy: {integration.health_reason}",
                )
        try:
            TeamsService(integration).send_event(envelope=delivery.payload)
        except RateLimited as exc:
            return SendResult(
                SendResult.RETRY,
                response_status=exc.status,
                error=str(exc),
                retry_after=exc.retry_after,
            )
        except IntegrationError as exc:
            if exc.retryable:
                return SendResult(SendResult.RETRY, response_status=exc.status, error=str(exc))
            problem = describe_problem(exc)
            logger.warning(
                "teams delivery %s to integration %s failed for good (%s)",
                delivery.pk,
                integration.pk,
                exc.status,
            )
            return SendResult(
                SendResult.FAILED,
                response_status=exc.status,
                response_body=str(exc)[:2000],
                error=problem,
                target_problem=problem,
            )
        return SendResult(SendResult.SUCCESS, response_status=202)


def after_results(results: list[tuple[TeamsDelivery, SendResult]]) -> None:
    problems: dict[int, str] = {}
    delivered: set[int] = set()
    for delivery, result in results:
        if result.target_problem:
            problems[delivery.integration_id] = result.target_problem
        elif result.outcome == SendResult.SUCCESS:
            delivered.add(delivery.integration_id)
    teams_mark_delivered(integration_ids=sorted(delivered - problems.keys()))
    for integration_id, reason in problems.items():
        teams_mark_unhealthy(integration_id=integration_id, reason=reason)


CHANNEL = register(
    Channel(
        name="teams",
        delivery_model=TeamsDelivery,
        target_queryset=lambda: TeamsIntegration.objects.filter(is_healthy=True),
        owner_path="owner",
        project_scoped=True,
        build_delivery=build_delivery,
        transport_factory=TeamsTransport,
        max_retries=lambda delivery: 8,
        after_results=after_results,
        concurrency=4,
    )
)
