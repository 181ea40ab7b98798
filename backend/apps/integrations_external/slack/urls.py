"""The Slack integration's routes (under /api/v1/integrations-external/)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.integrations_external.slack.events import slack_events
from apps.integrations_external.slack.views import SlackIntegrationViewSet

router = SimpleRouter()
router.register("slack", SlackIntegrationViewSet, basename="slack-integration")

urlpatterns = [
    # Before the router: "events" would otherwise read as an integration's id.
    path("slack/events/", slack_events, name="slack-events"),
    *router.urls,
]
