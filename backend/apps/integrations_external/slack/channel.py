"""The Slack channel: one chat.postMessage per delivery, paced per channel, health on errors.

- `build_delivery` applies the integration's own filter (`notify_only_failures`, with the
  "back to normal" exception) on top of the shared routing rule.
- The transport never sleeps: a channel that is not free yet (≈ 1 message/s) is a DEFER (no
  attempt spent), Slack's 429 is a RETRY after its Retry-After; 5xx and network errors RETRY
  with the engine's back-off; a broken target (bad token, channel gone, bot removed, archived)
  is FAILED with `target_problem`, and `after_results` marks the integration unhealthy.
- Concurrency 1: the transport claims pacing slots in the database, on the worker's own
  connection; deliveries of one batch for the same channel would only defer each other
  anyway. Throughput across channels comes from more worker processes.
"""

from __future__ import annotations

import json
import logging

from apps.integrations_external import catalog
from apps.integrations_external.http.errors import IntegrationError, RateLimited
from apps.integrations_external.pipeline.channels import Channel, SendResult, register
from apps.integrations_external.pipeline.models import Event
from apps.integrations_external.slack.client import (
    AUTH_ERRORS,
    NOT_FOUND_ERRORS,
    REFUSED_ERRORS,
    error_code,
)
from apps.integrations_external.slack.models import SlackDelivery, SlackIntegration

logger = logging.getLogger(__name__)

# Slack errors that mean the integration itself is broken (not just this message): a bad token,
# or a channel that is gone or refuses the bot. (A reply to a missing thread is this message's.)
TARGET_PROBLEMS = AUTH_ERRORS | NOT_FOUND_ERRORS | (REFUSED_ERRORS - {"cannot_reply_to_message"})


def build_delivery(event: Event, integration: SlackIntegration) -> SlackDelivery | None:
    from apps.integrations_external.slack.services import SlackService

    if not SlackService.wants(integration, event.type, event.data or {}):
        return None
    return SlackDelivery(
        event=event, event_type=event.type, payload=event.envelope(), integration=integration
    )


class SlackTransport:
    def send(self, delivery: SlackDelivery) -> SendResult:
        from apps.integrations_external.slack.services import SlackService, describe_problem

        integration = delivery.integration
        is_test = catalog.category_of(delivery.event_type) == catalog.TEST
        if not is_test:  # a test may go to an unhealthy integration: that is how it is checked
            if not integration.is_active:
                return SendResult(
                    SendResult.FAILED, error="not sent: the integration is switched off"
                )
            if not integration.is_healthy:
                return SendResult(
                    SendResult.FAILED,
                    error=f"not sent: the integration is unhealthy: {integration.health_reason}",
                )
        wait = SlackService.reserve_send_slot(integration.pk)
        if wait > 0:
            return SendResult(
                SendResult.DEFER, retry_after=wait, error=f"paced: channel busy for {wait:.2f}s"
            )
        try:
            answer = SlackService(integration).send_event(delivery.payload)
        except RateLimited as exc:
            retry_after = exc.retry_after if exc.retry_after is not None else 1.0
            SlackService.hold_channel(integration.pk, retry_after)
            return SendResult(
                SendResult.RETRY,
                response_status=exc.status,
                error=str(exc),
                retry_after=retry_after,
            )
        except IntegrationError as exc:
            code = error_code(exc)
            body = json.dumps({"ok": False, "error": code}) if code else ""
            if exc.retryable:
                return SendResult(
                    SendResult.RETRY, response_status=exc.status, response_body=body, error=str(exc)
                )
            problem = ""
            if code in TARGET_PROBLEMS:
                problem = describe_problem(code, integration, getattr(exc, "needed", "") or "")
            logger.warning(
                "slack delivery %s to integration %s failed for good: %s",
                delivery.pk,
                integration.pk,
                code or exc,
            )
            return SendResult(
                SendResult.FAILED,
                response_status=exc.status,
                response_body=body,
                error=problem or str(exc),
                target_problem=problem,
            )
        ts = answer.get("ts") or ""
        return SendResult(
            SendResult.SUCCESS,
            response_status=200,
            response_body=json.dumps({"ok": True, "channel": answer.get("channel"), "ts": ts}),
            delivery_fields={"message_ts": ts},
        )


def after_results(results: list[tuple[SlackDelivery, SendResult]]) -> None:
    from apps.integrations_external.slack.services import SlackService

    problems: dict[int, str] = {}
    delivered: set[int] = set()
    for delivery, result in results:
        if result.target_problem:
            problems[delivery.integration_id] = result.target_problem
        elif result.outcome == SendResult.SUCCESS:
            delivered.add(delivery.integration_id)
    SlackService.mark_delivered(sorted(delivered - problems.keys()))
    for integration_id, reason in problems.items():
        SlackService.mark_unhealthy(integration_id, reason)


CHANNEL = register(
    Channel(
        name="slack",
        delivery_model=SlackDelivery,
        target_queryset=lambda: SlackIntegration.objects.filter(is_healthy=True),
        owner_path="owner",
        project_scoped=True,
        build_delivery=build_delivery,
        transport_factory=SlackTransport,
        max_retries=lambda delivery: 8,
        after_results=after_results,
        concurrency=1,
    )
)
