"""Celery tasks of the github integration, and the receiver that creates a story's issue.

Tasks take ids, re-read rows and exit when there is nothing to do. A rate limit never blocks a
worker: the task is rescheduled (`apply_async(countdown=...)`) for when GitHub allows calls again,
and carries `not_before` so a run delivered early (eager mode, a skewed clock) does nothing.
"""

from __future__ import annotations

import logging
import math
import random
from datetime import datetime, timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.http.errors import IntegrationError, RateLimited, TemporaryError
from apps.projects.signals import user_story_created

logger = logging.getLogger(__name__)

EARLY_TOLERANCE = timedelta(seconds=2)
MAX_BUSY_RETRIES = 20


def _early(not_before: str | None) -> bool:
    if not not_before:
        return False
    return timezone.now() < datetime.fromisoformat(not_before) - EARLY_TOLERANCE


def _reschedule(task, *, args: tuple, delay: float, **kwargs) -> datetime:
    countdown = max(1, math.ceil(delay))
    when = timezone.now() + timedelta(seconds=countdown)
    task.apply_async(
        args=args, kwargs={**kwargs, "not_before": when.isoformat()}, countdown=countdown
    )
    return when


@shared_task(name="integrations.github.sync_pull_requests", bind=True, ignore_result=True)
def sync_pull_requests(
    self, integration_id: int, not_before: str | None = None, requested_at: str | None = None
) -> dict | None:
    """One sync, bounded by GITHUB_SYNC_DEADLINE_SECONDS. Exits when another run is in progress
    or a run finished after `requested_at` (the work is done): safe to run twice."""
    if _early(not_before):
        return None
    from apps.integrations_external.github.services import GitHubService, github_sync_claim

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


@shared_task(name="integrations.github.create_issue_for_story", bind=True, ignore_result=True)
def create_issue_for_story(
    self, integration_id: int, story_id: int, not_before: str | None = None, busy_retries: int = 0
) -> int | None:
    """The story's issue (idempotent: the service claims a unique link row first)."""
    if _early(not_before):
        return None
    from apps.integrations_external.github.models import GitHubIssueLink
    from apps.integrations_external.github.services import GitHubService
    from apps.projects.models import UserStory

    integration = GitHubIntegration.objects.filter(pk=integration_id, is_active=True).first()
    story = UserStory.objects.filter(pk=story_id).first()
    if integration is None or story is None:
        return None
    done = GitHubIssueLink.objects.filter(
        integration=integration, story=story, state=GitHubIssueLink.State.CREATED
    ).first()
    if done is not None:
        return done.issue_number
    try:
        return GitHubService(integration).create_issue_from_story(story=story).link.issue_number
    except TemporaryError as exc:  # rate limit, busy, network: try again later, never sleep
        if busy_retries >= MAX_BUSY_RETRIES:
            logger.error(
                "github %s: giving up on the issue for %s: %s", integration, story.key, exc
            )
            return None
        delay = exc.retry_after if exc.retry_after is not None else 30 * (busy_retries + 1)
        _reschedule(
            self,
            args=(integration_id, story_id),
            delay=delay + random.uniform(0, 1),
            busy_retries=busy_retries + 1,
        )
        return None
    except IntegrationError as exc:
        logger.warning("github %s: no issue for %s: %s", integration, story.key, exc)
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


def on_user_story_created(sender, story, actor=None, **kwargs) -> None:
    """With `auto_create_issues`, a new story in the integration's project gets its issue in the
    background (the task is enqueued after commit; no network I/O here). Integrations whose
    owner may no longer act on the project are skipped (the task checks again)."""
    from apps.integrations_external.github.selectors import github_integration_acts_for_project

    integrations = GitHubIntegration.objects.filter(
        project_id=story.project_id, is_active=True, auto_create_issues=True
    ).select_related("owner", "project")
    for integration in integrations:
        if not github_integration_acts_for_project(integration):
            continue
        transaction.on_commit(
            partial(create_issue_for_story.delay, integration.pk, story.pk), robust=True
        )


user_story_created.connect(on_user_story_created, dispatch_uid="integrations_external.github.story")
