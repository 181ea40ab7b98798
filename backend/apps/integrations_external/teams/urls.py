"""The Teams integration's resources on the API's router (core/urls.py), under
/api/v1/integrations-external/."""

from __future__ import annotations

from apps.integrations_external.teams.views import TeamsIntegrationViewSet

routes = [("teams", TeamsIntegrationViewSet, "teams-integration")]
