"""Who sees which webhook endpoints and deliveries (read side of the API; permissions.py,
docs/permissions.md)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from apps.integrations_external.permissions import readable_q
from apps.integrations_external.webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoints_of(user: User) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(readable_q(user)).select_related("project")


def webhook_deliveries_of(user: User) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(readable_q(user, "endpoint__")).select_related(
        "endpoint", "endpoint__project"
    )
