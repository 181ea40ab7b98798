"""Celery tasks of the github integration: the pull-request sync.

(A new story's issue is not a task of its own: it is a delivery of the GitHub issue channel,
github/channel.py, sent and retried by the engine like every other channel's.)

Tasks take ids, re-read rows and exit when there is nothing to do. A rate limit never blocks a
worker: the task is rescheduled (`apply_async(countdown=...)`) for when GitHub allows calls again,
and carries `not_before` so a run delivered early (eager mode, a skewed clock) does nothing.
"""

from __future__ import annotations

import logging
import math
import random
from datetime import datetime, timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.github.services import SYNC_TASK, GitHubService, github_sync_claim
from apps.integrations_external.http.errors import RateLimited

logger = logging.getLogger(__name__)

EARLY_TOLERANCE = timedelta(seconds=2)


def _early(not_before: str | None) -> bool:
    if not not_before:
        return False
    return timezone.now() < datetime.fromisoformat(not_before) - EARLY_TOLERANCE


def _reschedule(task: Task, *, args: tuple, delay: float, **kwargs: Any) -> datetime:
    countdown = max(1, math.ceil(delay))
    when = timezone.now() + timedelta(seconds=countdown)
    task.apply_async(
        args=args, kwargs={**kwargs, "not_before": when.isoformat()}, countdown=countdown
    )
    return when


@shared_task(name=SYNC_TASK, bind=True, ignore_result=True)
def sync_pull_requests(
    self: Task, integration_id: int, not_before: str | None = None, requested_at: str | None = None
) -> dict | None:
    """One sync, bounded by GITHUB_SYNC_DEADLINE_SECONDS. Exits when another run is in progress
    or a run finished after `requested_at` (the work is done): safe to run twice."""
    if _early(not_before):
        return None
    integration = github_sync_claim(
        integration_id=integration_id,
        requested_at=datetime.fromisoformat(requested_at) if requested_at else None,
    )
    if integration is None:
        return None
    service = GitHubService(integration, deadline_seconds=settings.GITHUB_SYNC_DEADLINE_SECONDS)
    try:
        return service.run_sync()
    except RateLimited:
        until = integration.rate_limited_until or timezone.now() + timedelta(seconds=60)
        if integration.next_sync_at and integration.next_sync_at >= until:
            return None  # a run is already scheduled for then
        delay = (until - timezone.now()).total_seconds()
        when = _reschedule(self, args=(integration_id,), delay=delay, requested_at=requested_at)
        GitHubIntegration.objects.filter(pk=integration_id).update(next_sync_at=when)
        logger.info("github %s sync rescheduled in %.0fs (rate limit)", integration, delay)
        return None


@shared_task(name="integrations.github.sync_all", ignore_result=True)
def sync_all() -> int:
    """Beat: sync every auto-sync integration, spread over the interval (countdown jitter) so
    many integrations do not hit GitHub in the same second."""
    now = timezone.now()
    spread = max(1.0, settings.GITHUB_SYNC_INTERVAL_SECONDS * 0.8)
    ids = list(
        GitHubIntegration.objects.filter(is_active=True, auto_sync_prs=True)
        .exclude(rate_limited_until__gt=now)
        .values_list("pk", flat=True)
    )
    for pk in ids:
        sync_pull_requests.apply_async(args=(pk,), countdown=round(random.uniform(0, spread), 1))
    return len(ids)
