"""The events API's routes (under /api/v1/integrations-external/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from apps.integrations_external.pipeline.views import EventViewSet

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
