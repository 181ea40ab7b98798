"""The GitHub integration's resources on the API's router (core/urls.py): `routes` under
/api/v1/integrations-external/, `story_routes` under /api/v1/ (actions on a user story: the
core apps never import the integrations, so they are declared here)."""

from __future__ import annotations

from apps.integrations_external.github.views import GitHubIntegrationViewSet, StoryGitHubViewSet

routes = [("github", GitHubIntegrationViewSet, "github")]

story_routes = [("user-stories", StoryGitHubViewSet, "user-story")]
