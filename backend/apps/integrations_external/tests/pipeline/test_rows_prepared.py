"""rows.update_rows prepares a value once for a run of the very same object, and never carries
one row's value over to another."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import rows
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)


@pytest.mark.django_db
def test_update_rows_writes_each_rows_own_values_when_rows_share_objects(user, project):
    endpoint = WebhookEndpointFactory(owner=user)
    ids = record_webhook_deliveries(project, user, [endpoint] * 4)
    deliveries = list(WebhookDelivery.objects.filter(pk__in=ids).order_by("pk"))
    now = timezone.now()
    other = now - timedelta(hours=1)
    body = "shared"
    # A run of one object, another in between, then the first again.
    for delivery, at, text in zip(
        deliveries, [now, now, other, now], [body, body, "own", body], strict=True
    ):
        delivery.completed_at, delivery.response_body = at, text

    rows.update_rows(WebhookDelivery, deliveries, ["completed_at", "response_body"])

    stored = WebhookDelivery.objects.filter(pk__in=ids).order_by("pk")
    assert list(stored.values_list("completed_at", "response_body")) == [
        (now, "shared"),
        (now, "shared"),
        (other, "own"),
        (now, "shared"),
    ]
