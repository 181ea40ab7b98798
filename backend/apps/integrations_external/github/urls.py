"""The GitHub integration's resources on the API's router (core/urls.py): `routes` under
/api/v1/integrations-external/, `story_routes` under /api/v1/ (actions on a user story: the
core apps never import the integrations, so they are declared here)."""

from __future__ import annotations

from django.urls import path

from apps.integrations_external.github.app_views import GitHubAppWebhookView
from apps.integrations_external.github.views import GitHubIntegrationViewSet, StoryGitHubViewSet

routes = [("github", GitHubIntegrationViewSet, "github")]

story_routes = [("user-stories", StoryGitHubViewSet, "user-story")]

# The GitHub App's one webhook (every installation's deliveries), a plain signed endpoint.
pages = [path("github/app/webhook/", GitHubAppWebhookView.as_view(), name="github-app-webhook")]
