"""The GitHub integration's routes: `urlpatterns` under /api/v1/integrations-external/,
`story_urlpatterns` under /api/v1/ (github/story_urls.py)."""

from __future__ import annotations

from django.urls import path

from apps.integrations_external.github.app_views import GitHubAppWebhookView
from apps.integrations_external.github.views import (
    GitHubIntegrationViewSet,
    GitHubWebhookView,
    StoryCreateGitHubIssueView,
    StoryGitHubView,
)

_list = GitHubIntegrationViewSet.as_view({"get": "list", "post": "create"})
_detail = GitHubIntegrationViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)


def _act(name: str, method: str):
    return GitHubIntegrationViewSet.as_view({method: name})


urlpatterns: list = [
    path("github/", _list, name="github-list"),
    path("github/app/webhook/", GitHubAppWebhookView.as_view(), name="github-app-webhook"),
    path("github/<int:pk>/", _detail, name="github-detail"),
    path("github/<int:pk>/verify/", _act("verify", "post"), name="github-verify"),
    path("github/<int:pk>/sync-prs/", _act("sync_prs", "post"), name="github-sync-prs"),
    path(
        "github/<int:pk>/create-webhook/",
        _act("create_webhook", "post"),
        name="github-create-webhook",
    ),
    path(
        "github/<int:pk>/pull-requests/", _act("pull_requests", "get"), name="github-pull-requests"
    ),
    path(
        "github/<int:pk>/workflow-runs/", _act("workflow_runs", "get"), name="github-workflow-runs"
    ),
    path("github/<int:pk>/webhook/", GitHubWebhookView.as_view(), name="github-webhook"),
]

story_urlpatterns: list = [
    path(
        "user-stories/<int:pk>/create-github-issue/",
        StoryCreateGitHubIssueView.as_view(),
        name="user-story-create-github-issue",
    ),
    path("user-stories/<int:pk>/github/", StoryGitHubView.as_view(), name="user-story-github"),
]
