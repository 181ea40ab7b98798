"""The GitHub issue channel: a new story's issue, created through the engine.

With `auto_create_issues`, the `user_story.created` event reaches the integrations of the
story's project (the shared routing rule: active, owned by someone who may still act on the
project). Each gets a delivery, sent like every other one: claimed, attempted, retried with
back-off and recorded with its attempts, visible in the API and the admin.

- Idempotent: the service claims a unique (integration, story) link before it calls GitHub, so a
  story gets one issue however many deliveries or retries ask for it; an issue already created
  is a SUCCESS at once.
- A rate limit is a RETRY after GitHub's Retry-After / X-RateLimit-Reset (the engine honours
  `retry_after`); busy (another change in flight) and network errors RETRY too. Anything else
  (bad token, no access, an unusable answer) is FAILED.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db.models import QuerySet

from apps.integrations_external.github.models import (
    GitHubIntegration,
    GitHubIssueDelivery,
    GitHubIssueLink,
)
from apps.integrations_external.github.services import GitHubService
from apps.integrations_external.http.errors import IntegrationError
from apps.integrations_external.pipeline.channels import (
    Channel,
    Outcome,
    Results,
    SendResult,
    register,
)
from apps.integrations_external.pipeline.models import Event
from apps.projects.models import UserStory

logger = logging.getLogger(__name__)

STORY_CREATED = "user_story.created"


def _created(link: GitHubIssueLink) -> SendResult:
    body = json.dumps({"number": link.issue_number, "url": link.issue_url})
    return SendResult(
        Outcome.SUCCESS,
        response_status=201,
        response_body=body,
        delivery_fields={"issue_number": link.issue_number},
    )


class GitHubIssueTransport:
    def send(self, delivery: GitHubIssueDelivery) -> SendResult:
        integration = delivery.integration
        if not integration.is_active:
            return SendResult(Outcome.FAILED, error="not sent: the integration is switched off")
        story = UserStory.objects.filter(pk=delivery.story_id).first()
        if story is None:
            return SendResult(Outcome.FAILED, error="not sent: the story no longer exists")
        done = GitHubIssueLink.objects.filter(
            integration=integration, story=story, state=GitHubIssueLink.State.CREATED
        ).first()
        if done is not None:
            return _created(done)
        try:
            result = GitHubService(integration).create_issue_from_story(story=story)
        except IntegrationError as exc:
            outcome = Outcome.RETRY if exc.retryable else Outcome.FAILED
            if outcome == Outcome.FAILED:
                logger.warning("github %s: no issue for %s: %s", integration, story.key, exc)
            return SendResult(
                outcome, response_status=exc.status, error=str(exc), retry_after=exc.retry_after
            )
        return _created(result.link)


class GitHubIssueChannel(Channel):
    name = "github"
    delivery_model = GitHubIssueDelivery
    owner_path = "owner"
    project_scoped = True
    # Mutating calls go one at a time per integration anyway (the service's lease).
    concurrency = 1
    event_types = frozenset({STORY_CREATED})

    def targets(self) -> QuerySet[GitHubIntegration]:
        return GitHubIntegration.objects.select_related("owner", "project")

    def delivery_row(self, event: Event, target: GitHubIntegration) -> dict[str, Any] | None:
        story_id = ((event.data or {}).get("user_story") or {}).get("id")
        if event.type != STORY_CREATED or not isinstance(story_id, int):
            return None
        return {"integration_id": target.pk, "story_id": story_id}

    def transport(self) -> GitHubIssueTransport:
        return self._shared(GitHubIssueTransport)

    def max_retries(self, delivery: GitHubIssueDelivery) -> int:
        return 8

    def after_results(self, results: Results) -> None:
        return None  # the service records the rate limit and the issue link itself


CHANNEL = register(GitHubIssueChannel())
