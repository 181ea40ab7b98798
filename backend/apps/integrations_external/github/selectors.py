"""Who sees which GitHub integrations, and whether one may still act on its project."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from apps.integrations_external.github.models import (
    GitHubIntegration,
    GitHubIssueLink,
    GitHubPullRequest,
)
from apps.integrations_external.permissions import acting_owner_q, readable_q
from apps.projects.selectors import user_can_see_project


def github_integrations_of(user: User) -> QuerySet[GitHubIntegration]:
    return GitHubIntegration.objects.filter(readable_q(user)).select_related("project")


def github_integration_acts_for_project(integration: GitHubIntegration) -> bool:
    """Whether the integration may still act on its project (create issues, link pull requests
    to stories, publish into it, show story titles): only while its owner is an active user who
    is staff, the project's owner or a member. Checked at each use, so leaving a project stops
    everything of theirs at once."""
    return user_can_see_project(integration.owner, integration.project)


def story_github(story) -> tuple[QuerySet[GitHubIssueLink], QuerySet[GitHubPullRequest]]:
    """A story's GitHub issues and the pull requests that mention its key: only what
    integrations still acting on the project brought in (a removed member's repository does
    not speak for the project any more)."""
    acting = acting_owner_q(story.project, "integration__")
    links = GitHubIssueLink.objects.filter(acting, story=story).select_related("integration")
    pulls = (
        GitHubPullRequest.objects.filter(acting, stories=story)
        .distinct()
        .select_related("integration")
        .prefetch_related("stories")
    )
    return links, pulls
