"""The Teams integration's routes (under /api/v1/integrations-external/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from apps.integrations_external.teams.views import TeamsIntegrationViewSet

router = SimpleRouter()
router.register("teams", TeamsIntegrationViewSet, basename="teams-integration")

urlpatterns = router.urls
