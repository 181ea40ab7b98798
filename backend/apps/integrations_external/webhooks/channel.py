"""The webhook channel: endpoints, their deliveries, counters and auto-disable.

The health hooks (counters, disabling a failing endpoint, re-enabling one after a test that got
through) live here, next to the engine's `after_results` that calls them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.integrations_external.email.services import EmailService
from apps.integrations_external.pipeline import rows
from apps.integrations_external.pipeline.channels import (
    Channel,
    Outcome,
    Results,
    register,
)
from apps.integrations_external.pipeline.models import DeliveryStatus, Event
from apps.integrations_external.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.integrations_external.webhooks.transport import MAX_IN_FLIGHT, WebhookTransport

logger = logging.getLogger(__name__)

# What re-enabling an endpoint clears.
HEALTH_RESET: dict[str, Any] = {
    "disabled_at": None,
    "disabled_reason": "",
    "consecutive_failures": 0,
    "failing_since": None,
}


def display_url(url: str) -> str:
    """The URL without credentials, query or fragment: those often hold a token, and an email
    is no place for one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def _email_notice(user: Any, *, subject: str, text: str) -> None:
    """Email one person a notice through the email integration (its durable delivery path).
    Never lets a problem there undo what the caller did."""
    try:
        with transaction.atomic():
            EmailService(user).queue_notice(subject=subject, text=text)
    except Exception:
        logger.exception("could not queue the email notice %r to user %s", subject, user.pk)


def notify_owner_disabled(endpoint: WebhookEndpoint, reason: str) -> None:
    """Email the owner that their endpoint was disabled, and why."""
    shown_url = display_url(endpoint.url)
    _email_notice(
        endpoint.owner,
        subject=f"Webhook endpoint disabled: {endpoint.name or shown_url}",
        text=(
            f"Your webhook endpoint {endpoint.name or shown_url} ({shown_url}, id "
            f"{endpoint.pk}) was disabled.\n\n{reason}\n\n"
            "Fix the receiver, then re-enable it (PATCH is_active=true) or send a test event."
        ),
    )


def disable_endpoint(endpoint_id: int, reason: str) -> bool:
    """Switch a failing endpoint off and tell its owner alone (the endpoint's status and
    reason in the API, and an email). No system alert: those reach every user, and the
    endpoint's name and URL are its owner's text. Operators get a log line of ids."""
    now = timezone.now()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason
        )
        if changed:
            endpoint = WebhookEndpoint.objects.select_related("owner").get(pk=endpoint_id)
            logger.warning(
                "webhook endpoint %s (owner %s) disabled automatically",
                endpoint_id,
                endpoint.owner_id,
            )
            notify_owner_disabled(endpoint, reason)
    return bool(changed)


def check_auto_disable(endpoint_ids: list[int]) -> None:
    """Disable endpoints that kept failing: N exhausted deliveries in a row, or failing for
    days (anchors: GitLab, Svix)."""
    if not endpoint_ids:
        return
    limit = settings.WEBHOOK_AUTO_DISABLE_AFTER_FAILURES
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_AUTO_DISABLE_AFTER_DAYS)
    for endpoint in WebhookEndpoint.objects.filter(pk__in=endpoint_ids, is_active=True):
        if endpoint.consecutive_failures >= limit:
            disable_endpoint(
                endpoint.pk,
                f"{endpoint.consecutive_failures} deliveries in a row failed after all retries.",
            )
        elif endpoint.failing_since and endpoint.failing_since < cutoff:
            disable_endpoint(
                endpoint.pk,
                f"Every delivery has failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC.",
            )


def after_test_success(endpoint_ids: list[int]) -> None:
    """A test that got through proves the receiver is back: re-enable the endpoint."""
    if endpoint_ids:
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids, is_active=False).update(
            is_active=True, **HEALTH_RESET
        )


def _tally(results: Results) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    """Per endpoint: successes, failures and exhausted deliveries; and the endpoints gone."""
    per_endpoint: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    gone: dict[int, str] = {}
    for delivery, result in results:
        if result.outcome == Outcome.DEFER:
            continue
        stats = per_endpoint[delivery.endpoint_id]
        stats["success" if result.outcome == Outcome.SUCCESS else "failure"] += 1
        if delivery.status == DeliveryStatus.FAILED:
            stats["exhausted"] += 1
        if result.target_problem:
            gone[delivery.endpoint_id] = result.target_problem
    return per_endpoint, gone


def update_counters(per_endpoint: dict[int, dict[str, int]]) -> None:
    """One UPDATE per distinct (success, failure, exhausted) tally, not one per endpoint: a
    batch of 100 deliveries to 100 endpoints that all succeeded is a single statement. The
    counters are added to in the statement itself, so they stay exact under concurrent
    workers; rows are taken in key order, so two batches never deadlock on them."""
    now = timezone.now()
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for endpoint_id, stats in per_endpoint.items():
        groups[(stats["success"], stats["failure"], stats["exhausted"])].append(endpoint_id)
    for (success, failure, exhausted), endpoint_ids in groups.items():
        values: dict[str, Any] = {"last_triggered_at": now}
        add = {"success_count": success, "failure_count": failure}
        if success:
            values.update(consecutive_failures=0, failing_since=None)
        elif exhausted:
            add["consecutive_failures"] = exhausted
        rows.update_by_pk(WebhookEndpoint, endpoint_ids, values=values, add=add)
        if not success and exhausted:
            WebhookEndpoint.objects.filter(pk__in=endpoint_ids, failing_since__isnull=True).update(
                failing_since=now
            )


class WebhookChannel(Channel):
    name = "webhook"
    delivery_model = WebhookDelivery
    owner_path = "owner"
    project_scoped = True
    # One claim: as many as libcurl keeps in flight at once.
    concurrency: ClassVar[int] = MAX_IN_FLIGHT
    custom_events = True
    # Every endpoint has a concurrency limit (default 10), some a rate limit.
    limit_fields = ("max_in_flight", "rate_limit")
    # What signing, addressing and the retry budget read (webhooks/transport.py `prepare`).
    target_fields = (
        "url",
        "method",
        "secret",
        "previous_secret",
        "previous_secret_expires_at",
        "headers",
        "timeout_seconds",
        "retry_count",
    )

    def targets(self) -> QuerySet[WebhookEndpoint]:
        # An event may reach thousands of endpoints: routing loads what a delivery needs (the
        # id) and what `accepts_custom` reads, not the endpoint's ~30 columns and secrets.
        return WebhookEndpoint.objects.only("pk", "custom_events")

    def delivery_row(self, event: Event, target: WebhookEndpoint) -> dict[str, Any]:
        return {"endpoint_id": target.pk}

    def transport(self) -> WebhookTransport:
        return self._shared(WebhookTransport)

    def max_retries(self, delivery: WebhookDelivery) -> int:
        return delivery.endpoint.retry_count

    def accepts_custom(self, target: WebhookEndpoint, event_type: str) -> bool:
        return target.wants_custom(event_type)

    def after_results(self, results: Results) -> None:
        per_endpoint, gone = _tally(results)
        update_counters(per_endpoint)
        for endpoint_id, reason in gone.items():
            disable_endpoint(endpoint_id, reason)
        after_test_success(
            [
                d.endpoint_id
                for d, r in results
                if r.outcome == Outcome.SUCCESS and d.event_type == "webhook.test"
            ]
        )
        if per_endpoint:
            check_auto_disable([i for i, s in per_endpoint.items() if s["exhausted"]])


CHANNEL = register(WebhookChannel())
