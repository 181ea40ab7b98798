"""The events API's resource on the API's router (core/urls.py), under
/api/v1/integrations-external/."""

from __future__ import annotations

from apps.integrations_external.pipeline.views import EventViewSet

routes = [("events", EventViewSet, "event")]
