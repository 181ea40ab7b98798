"""The Slack integration's resource on the API's router (core/urls.py), under
/api/v1/integrations-external/."""

from __future__ import annotations

from django.urls import path

from apps.integrations_external.slack.events import slack_events
from apps.integrations_external.slack.views import SlackIntegrationViewSet

routes = [("slack", SlackIntegrationViewSet, "slack-integration")]

# Slack's signed events for the app (Add to Slack installs).
pages = [path("slack/events/", slack_events, name="slack-events")]
