"""The webhooks' resources on the API's router (core/urls.py), under
/api/v1/integrations-external/."""

from __future__ import annotations

from apps.integrations_external.webhooks.views import WebhookDeliveryViewSet, WebhookEndpointViewSet

routes = [
    ("webhooks", WebhookEndpointViewSet, "webhook"),
    ("webhook-deliveries", WebhookDeliveryViewSet, "webhook-delivery"),
]
