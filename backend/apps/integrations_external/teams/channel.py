"""The Teams channel: one Adaptive Card per delivery, posted to the integration's Workflows
webhook, through the engine like every channel.

- `delivery_row` applies the integration's own filter (failures only, back to normal) on
  top of the shared routing rule.
- 2xx (Teams answers 202) is success. 429 retries after its Retry-After, 5xx and network
  errors with the engine's back-off. 400, 401, 403 and 404 are permanent: FAILED with a
  `target_problem` the owner can act on, and `after_results` marks the integration unhealthy
  (pipeline/health.py, as Slack), so routing skips it until a verification or a test card
  gets through.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import QuerySet

from apps.integrations_external import catalog
from apps.integrations_external.http.errors import (
    AuthError,
    IntegrationError,
    NotFound,
    RateLimited,
    TargetRefused,
)
from apps.integrations_external.pipeline import health
from apps.integrations_external.pipeline.channels import (
    Channel,
    Outcome,
    Results,
    SendResult,
    register,
)
from apps.integrations_external.pipeline.models import Event
from apps.integrations_external.teams import messages
from apps.integrations_external.teams.client import TeamsClient
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration

logger = logging.getLogger(__name__)

WORKFLOW_HELP = (
    "In Teams, open the channel's Workflows, choose 'Post to a channel when a webhook request "
    "is received', and paste the URL it gives here."
)


def describe_problem(exc: IntegrationError) -> str:
    """A permanent refusal in words the integration's owner can act on."""
    if isinstance(exc, TargetRefused):
        return f"{exc} Use the URL Teams gives, on its public address."
    if isinstance(exc, AuthError):
        return (
            f"Teams refused the webhook URL ({exc.status}): its signature is no longer valid. "
            "Copy the URL again from the workflow in Teams and save it here."
        )
    if isinstance(exc, NotFound):
        return (
            f"The workflow is gone ({exc.status}): it was deleted or turned off in Teams. "
            + WORKFLOW_HELP
        )
    return (
        f"Teams refused the message ({exc.status or 'no status'}): the workflow may no longer "
        "post the card it receives. Check its 'Post card in a chat or channel' step, then "
        "verify again."
    )


def is_recovery(event_type: str, data: dict[str, Any]) -> bool:
    """A workflow that failed last time completed: "back to normal"."""
    return event_type == "workflow.completed" and data.get("previous_status") == "failed"


def wants(integration: TeamsIntegration, event_type: str, data: dict[str, Any]) -> bool:
    """The integration's own filter on top of the routing rule (failures only, back to
    normal)."""
    if not integration.notify_only_failures:
        return True
    category = catalog.category_of(event_type)
    if category == catalog.WORKFLOW:
        status = (data.get("execution") or {}).get("status")
        if event_type == "workflow.failed" or status == "failed":
            return True
        return integration.notify_back_to_normal and is_recovery(event_type, data)
    if category == catalog.COMMAND:
        return messages.command_failed(data)
    return True  # alerts and project updates have switches of their own


def post_event(integration: TeamsIntegration, envelope: dict[str, Any]) -> None:
    """Post the card for one event now; raises the named errors of http/errors.py."""
    message = messages.build_message(envelope.get("type", ""), envelope.get("data") or {})
    TeamsClient(integration.webhook_url).post(message)


def _failure(delivery: TeamsDelivery, exc: IntegrationError) -> SendResult:
    if isinstance(exc, RateLimited):
        return SendResult(
            Outcome.RETRY, response_status=exc.status, error=str(exc), retry_after=exc.retry_after
        )
    if exc.retryable:
        return SendResult(Outcome.RETRY, response_status=exc.status, error=str(exc))
    problem = describe_problem(exc)
    logger.warning(
        "teams delivery %s to integration %s failed for good (%s)",
        delivery.pk,
        delivery.integration_id,
        exc.status,
    )
    return SendResult(
        Outcome.FAILED,
        response_status=exc.status,
        response_body=str(exc)[:2000],
        error=problem,
        target_problem=problem,
    )


class TeamsTransport:
    def send(self, delivery: TeamsDelivery) -> SendResult:
        integration = delivery.integration
        refused = health.refusal(integration, delivery.event_type)
        if refused is not None:
            return refused
        try:
            post_event(integration, delivery.payload)
        except IntegrationError as exc:
            return _failure(delivery, exc)
        return SendResult(Outcome.SUCCESS, response_status=202)


class TeamsChannel(Channel):
    name = "teams"
    delivery_model = TeamsDelivery
    owner_path = "owner"
    project_scoped = True
    # Each post is one short HTTP request to a different tenant's workflow: a few at once.
    concurrency = 4

    def targets(self) -> QuerySet[TeamsIntegration]:
        return TeamsIntegration.objects.filter(is_healthy=True)

    def delivery_row(self, event: Event, target: TeamsIntegration) -> dict[str, Any] | None:
        if not wants(target, event.type, event.data or {}):
            return None
        return {"integration_id": target.pk}

    def transport(self) -> TeamsTransport:
        return self._shared(TeamsTransport)

    def max_retries(self, delivery: TeamsDelivery) -> int:
        return 8

    def after_results(self, results: Results) -> None:
        health.record(TeamsIntegration, results)


CHANNEL = register(TeamsChannel())
