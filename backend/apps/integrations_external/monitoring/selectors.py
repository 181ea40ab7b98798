"""Read-side queries of the pipeline's state, for `/metrics` and `manage.py integrations_status`.

Each one is cheap on a large history: the backlog queries of a delivery table go through its
`(status, next_attempt_at)` index (open rows only, never the finished history), and the target
tables are configuration-sized (one row per endpoint or integration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count, Min, Q
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.pipeline import channels
from apps.integrations_external.pipeline.engine import due_q
from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryStatus
from apps.integrations_external.webhooks.models import WebhookEndpoint


@dataclass(frozen=True)
class Backlog:
    channel: str
    due: int  # open, due now, and not leased by a worker: waiting to be sent
    in_flight: int  # leased by a worker right now
    failed_last_hour: int
    oldest_due_age_seconds: float  # 0 when nothing is due


@dataclass(frozen=True)
class Problem:
    kind: str  # "webhook", a chat channel's name ("slack", "teams"), "github"
    id: int
    name: str
    reason: str
    since: datetime | None


def oldest_due_age(channel: channels.Channel, *, now: datetime) -> float:
    """Seconds since the longest-waiting due and unleased delivery of `channel` became due."""
    due = channel.delivery_model.objects.filter(due_q(now))
    # Deliveries are written with `next_attempt_at` set; one without is due since its creation.
    # Both lookups walk the (status, next_attempt_at) index from its low end.
    oldest = (
        due.filter(next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    unscheduled = due.filter(next_attempt_at__isnull=True).aggregate(at=Min("created_at"))["at"]
    candidates = [at for at in (oldest, unscheduled) if at is not None]
    return max(0.0, (now - min(candidates)).total_seconds()) if candidates else 0.0


def backlog(channel: channels.Channel, *, now: datetime | None = None) -> Backlog:
    now = now or timezone.now()
    objects = channel.delivery_model.objects
    open_rows = objects.filter(status__in=OPEN_STATUSES)
    return Backlog(
        channel=channel.name,
        due=objects.filter(due_q(now)).count(),
        in_flight=open_rows.filter(locked_until__gte=now).count(),
        failed_last_hour=objects.filter(
            status=DeliveryStatus.FAILED, completed_at__gte=now - timedelta(hours=1)
        ).count(),
        oldest_due_age_seconds=oldest_due_age(channel, now=now),
    )


def backlogs(*, now: datetime | None = None) -> list[Backlog]:
    now = now or timezone.now()
    return [backlog(c, now=now) for c in sorted(channels.all_channels(), key=lambda c: c.name)]


def webhook_endpoint_health() -> dict[str, int]:
    """{"failing": active endpoints whose deliveries fail, "disabled": switched off (by the
    system after failing, or by their owner)}."""
    counts = WebhookEndpoint.objects.aggregate(
        failing=Count("pk", filter=Q(is_active=True, failing_since__isnull=False)),
        disabled=Count("pk", filter=Q(is_active=False)),
    )
    return {"failing": counts["failing"] or 0, "disabled": counts["disabled"] or 0}


def _github_unhealthy_q() -> Q:
    return Q(is_active=True) & (
        Q(last_verification_ok=False) | Q(last_sync_result__has_key="error")
    )


def health_tracked_targets() -> list[tuple[str, type[Any]]]:
    """The channels whose targets keep a health flag (a chat integration a permanent error
    marked unhealthy: bad token, bot removed, workflow deleted), by channel name."""
    found = []
    for channel in channels.all_channels():
        model = channel.targets().model
        if any(field.name == "is_healthy" for field in model._meta.get_fields()):
            found.append((channel.name, model))
    return found


def unhealthy_integration_counts() -> dict[str, int]:
    """Active integrations that cannot do their job now: chat integrations marked unhealthy,
    GitHub failing its verification or its last sync."""
    counts = {
        name: model.objects.filter(is_active=True, is_healthy=False).count()
        for name, model in health_tracked_targets()
    }
    counts["github"] = GitHubIntegration.objects.filter(_github_unhealthy_q()).count()
    return counts


def problems(limit: int = 50) -> list[Problem]:
    """Failing and disabled webhook endpoints and unhealthy integrations, worst first."""
    found: list[Problem] = []
    endpoints = WebhookEndpoint.objects.filter(
        Q(is_active=True, failing_since__isnull=False) | Q(is_active=False)
    ).order_by("is_active", "failing_since", "pk")[:limit]
    for e in endpoints:
        if e.is_active:
            reason = f"failing: {e.consecutive_failures} deliveries in a row failed"
        else:
            reason = f"disabled: {e.disabled_reason or 'switched off'}"
        since = e.failing_since if e.is_active else e.disabled_at
        # The host only: a URL's path or query may carry a receiver's token.
        name = e.name or urlsplit(e.url).hostname or ""
        found.append(Problem("webhook", e.pk, name, reason, since))
    for name, model in health_tracked_targets():
        for s in model.objects.filter(is_active=True, is_healthy=False).order_by("pk")[:limit]:
            found.append(
                Problem(name, s.pk, str(s), f"unhealthy: {s.health_reason}", s.health_changed_at)
            )
    for g in GitHubIntegration.objects.filter(_github_unhealthy_q()).order_by("pk")[:limit]:
        if g.last_verification_ok is False:
            reason, since = f"verification failed: {g.last_verification_detail}", g.last_verified_at
        else:
            reason, since = f"sync failed: {g.last_sync_result.get('error')}", g.last_synced_at
        found.append(Problem("github", g.pk, g.full_name, reason, since))
    return found
