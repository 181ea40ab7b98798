"""The webhooks' routes (under /api/v1/integrations-external/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from apps.integrations_external.webhooks.views import WebhookDeliveryViewSet, WebhookEndpointViewSet

router = SimpleRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = router.urls
