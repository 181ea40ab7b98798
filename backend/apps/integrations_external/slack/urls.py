"""The Slack integration's routes (under /api/v1/integrations-external/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from apps.integrations_external.slack.views import SlackIntegrationViewSet

router = SimpleRouter()
router.register("slack", SlackIntegrationViewSet, basename="slack-integration")

urlpatterns = router.urls
