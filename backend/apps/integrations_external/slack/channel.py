"""The Slack channel: one chat.postMessage per delivery, paced per channel, health on errors.

- `delivery_row` applies the integration's own filter (`notify_only_failures`, with the
  "back to normal" exception) on top of the shared routing rule.
- The transport never sleeps: a channel that is not free yet (≈ 1 message/s) is a DEFER (no
  attempt spent), Slack's 429 is a RETRY after its Retry-After; 5xx and network errors RETRY
  with the engine's back-off; a broken target (bad token, channel gone, bot removed, archived)
  is FAILED with `target_problem`, and `after_results` marks the integration unhealthy.
- Concurrency 1: the transport claims pacing slots in the database, on the worker's own
  connection; deliveries of one batch for the same channel would only defer each other
  anyway. Throughput across channels comes from more worker processes.

The health and pacing hooks live here; SlackService (services.py) uses them, never the reverse.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.http.errors import IntegrationError, PermanentError, RateLimited
from apps.integrations_external.pipeline import health
from apps.integrations_external.pipeline.channels import (
    Channel,
    Outcome,
    Results,
    SendResult,
    register,
)
from apps.integrations_external.pipeline.models import Event
from apps.integrations_external.slack import messages
from apps.integrations_external.slack.client import (
    AUTH_ERRORS,
    NOT_FOUND_ERRORS,
    REFUSED_ERRORS,
    SlackClient,
    error_code,
)
from apps.integrations_external.slack.models import SlackDelivery, SlackIntegration
from apps.integrations_external.slack.oauth import token_refresh_if_due

logger = logging.getLogger(__name__)

# Slack errors that mean the integration itself is broken (not just this message): a bad token,
# or a channel that is gone or refuses the bot. (A reply to a missing thread is this message's.)
TARGET_PROBLEMS = AUTH_ERRORS | NOT_FOUND_ERRORS | (REFUSED_ERRORS - {"cannot_reply_to_message"})


def describe_problem(code: str, integration: SlackIntegration, detail: str = "") -> str:
    """A Slack error code in words the integration's owner can act on."""
    channel = f"#{integration.channel_name}" if integration.channel_name else integration.channel_id
    bot = f"@{integration.bot_user_name}" if integration.bot_user_name else "@<your bot>"
    if code in ("invalid_auth", "not_authed", "not_allowed_token_type"):
        return (
            "Invalid token: Slack does not accept this bot token "
            f"({code}). Copy the Bot User OAuth Token (xoxb-…) from your Slack app's "
            "OAuth & Permissions page and save it here."
        )
    if code in ("account_inactive", "token_revoked", "token_expired", "team_access_not_granted"):
        return (
            f"Invalid token: the token was revoked or the app/workspace is inactive ({code}). "
            "Reinstall the Slack app in the workspace and save its new bot token here."
        )
    if code in ("missing_scope", "no_permission", "ekm_access_denied"):
        return (
            f"The bot token lacks a permission ({detail or code}). Add the bot scopes chat:write, "
            "channels:read and groups:read, reinstall the app and save the new token."
        )
    return _describe_channel_problem(code, integration, channel, bot, detail)


def _describe_channel_problem(
    code: str, integration: SlackIntegration, channel: str, bot: str, detail: str
) -> str:
    if code == "channel_not_found":
        return (
            f"Channel not found: {integration.channel_id} does not exist or the bot cannot see it. "
            "Check the channel ID (channel details → About); for a private channel, invite the "
            f"bot first with /invite {bot}."
        )
    if code == "not_in_channel":
        return (
            f"Bot not in the channel: invite it to {channel} with /invite {bot}, then verify again."
        )
    if code == "is_archived":
        return f"Channel archived: {channel} is archived. Unarchive it or choose another channel."
    if code == "restricted_action":
        return (
            f"Slack refuses posting to {channel} (restricted_action): "
            "check the channel's posting permissions."
        )
    return f"Slack error: {code or detail or 'unknown'}."


# --- what an integration wants ---------------------------------------------------------------
def wants(integration: SlackIntegration, event_type: str, data: dict) -> bool:
    """The per-integration filter on top of the routing rule: `notify_only_failures`."""
    if not integration.notify_only_failures:
        return True
    category = catalog.category_of(event_type)
    if category == catalog.WORKFLOW:
        status = (data.get("execution") or {}).get("status")
        return (
            event_type == "workflow.failed"
            or status == "failed"
            or messages.is_recovery(event_type, data)
        )
    if category == catalog.COMMAND:
        return messages.command_failed(data)
    return True  # alerts, project updates and tests have switches of their own


# --- sending ---------------------------------------------------------------------------------
def post_message(
    client: SlackClient, channel_id: str, message: messages.SlackMessage
) -> dict[str, Any]:
    """Post to a channel; returns Slack's answer ({"ok", "ts", …})."""
    problems = messages.limit_problems(message)
    if problems:  # a builder bug, not Slack's: don't send what Slack would reject
        raise PermanentError("message breaks Slack's limits: " + "; ".join(problems))
    return client.post_message(channel_id, text=message.text, blocks=message.blocks)


def post_event(
    integration: SlackIntegration, envelope: dict, client: SlackClient | None = None
) -> dict[str, Any]:
    """Post one event (a delivery's payload) to the integration's channel."""
    message = messages.event_message(envelope, integration_label=str(integration))
    if client is None:
        token_refresh_if_due(integration=integration)  # installs with token rotation
        client = SlackClient(integration.bot_token)
    return post_message(client, integration.channel_id, message)


# --- health ----------------------------------------------------------------------------------
def mark_unhealthy(integration_id: int, reason: str) -> None:
    health.mark_unhealthy(SlackIntegration, integration_id, reason)


# --- pacing ----------------------------------------------------------------------------------
def reserve_send_slot(integration_id: int, interval: float | None = None) -> float:
    """Take this channel's next send slot if it is free (0.0), else the seconds to wait.

    One conditional UPDATE: of any number of workers, one wins each slot.
    """
    interval = settings.SLACK_MIN_SEND_INTERVAL_SECONDS if interval is None else interval
    if interval <= 0:
        return 0.0
    now = timezone.now()
    won = (
        SlackIntegration.objects.filter(pk=integration_id)
        .filter(Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))
        .update(next_send_at=now + timedelta(seconds=interval))
    )
    if won:
        return 0.0
    next_at = (
        SlackIntegration.objects.filter(pk=integration_id)
        .values_list("next_send_at", flat=True)
        .first()
    )
    if next_at is None:
        return 0.0
    return max((next_at - now).total_seconds(), 0.05)


def hold_channel(integration_id: int, seconds: float) -> None:
    """Slack said slow down: nobody sends to this channel for `seconds`."""
    until = timezone.now() + timedelta(seconds=max(seconds, 0))
    SlackIntegration.objects.filter(pk=integration_id).filter(
        Q(next_send_at__isnull=True) | Q(next_send_at__lt=until)
    ).update(next_send_at=until)


# --- the transport ---------------------------------------------------------------------------
def _failure(delivery: SlackDelivery, exc: IntegrationError) -> SendResult:
    """An error from Slack as the engine's result: retry, or fail (and name a broken target)."""
    integration = delivery.integration
    if isinstance(exc, RateLimited):
        retry_after = exc.retry_after if exc.retry_after is not None else 1.0
        hold_channel(integration.pk, retry_after)
        return SendResult(
            Outcome.RETRY, response_status=exc.status, error=str(exc), retry_after=retry_after
        )
    code = error_code(exc)
    body = json.dumps({"ok": False, "error": code}) if code else ""
    if exc.retryable:
        return SendResult(
            Outcome.RETRY, response_status=exc.status, response_body=body, error=str(exc)
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
        Outcome.FAILED,
        response_status=exc.status,
        response_body=body,
        error=problem or str(exc),
        target_problem=problem,
    )


class SlackTransport:
    def send(self, delivery: SlackDelivery) -> SendResult:
        integration = delivery.integration
        refused = health.refusal(integration, delivery.event_type)
        if refused is not None:
            return refused
        wait = reserve_send_slot(integration.pk)
        if wait > 0:
            return SendResult(
                Outcome.DEFER, retry_after=wait, error=f"paced: channel busy for {wait:.2f}s"
            )
        try:
            answer = post_event(integration, delivery.payload)
        except IntegrationError as exc:
            return _failure(delivery, exc)
        ts = answer.get("ts") or ""
        return SendResult(
            Outcome.SUCCESS,
            response_status=200,
            response_body=json.dumps({"ok": True, "channel": answer.get("channel"), "ts": ts}),
            delivery_fields={"message_ts": ts},
        )


class SlackChannel(Channel):
    name = "slack"
    delivery_model = SlackDelivery
    owner_path = "owner"
    project_scoped = True
    concurrency = 1

    def targets(self) -> QuerySet[SlackIntegration]:
        return SlackIntegration.objects.filter(is_healthy=True)

    def delivery_row(self, event: Event, target: SlackIntegration) -> dict[str, Any] | None:
        if not wants(target, event.type, event.data or {}):
            return None
        return {"integration_id": target.pk}

    def transport(self) -> SlackTransport:
        return self._shared(SlackTransport)

    def max_retries(self, delivery: SlackDelivery) -> int:
        return 8

    def after_results(self, results: Results) -> None:
        health.record(SlackIntegration, results)


CHANNEL = register(SlackChannel())
