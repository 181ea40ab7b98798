"""A scrape of `/metrics` reads the delivery tables through their indexes only: its cost does
not grow with the finished history (PostgreSQL's plans, as in tests/delivery)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.monitoring.metrics import DeliveryStateCollector
from apps.integrations_external.tests.pipeline.test_query_plans import (
    _explainable,
    _full_scans,
    _history_tables,
)
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)

pytestmark = pytest.mark.django_db


def test_query_plans_scrape_scans_no_history_table(require_postgres, user, project):
    ids = record_webhook_deliveries(
        project, user, [WebhookEndpointFactory(owner=user) for _ in range(3)]
    )
    WebhookDelivery.objects.filter(pk=ids[0]).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    tables = _history_tables()

    with CaptureQueriesContext(connection) as captured:
        families = list(DeliveryStateCollector().collect())

    assert families
    statements = _explainable(captured, tables)
    assert len(statements) >= 3 * 3  # due count and the two oldest-due reads, per channel
    scans = {sql: _full_scans(sql, tables) for sql in statements}
    assert {sql: plan for sql, plan in scans.items() if plan} == {}
