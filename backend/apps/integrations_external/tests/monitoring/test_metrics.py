"""`/metrics` after real deliveries through the engine to a loopback receiver (eager Celery)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline.metrics import ATTEMPT_SECONDS, observe_many
from apps.integrations_external.pipeline.tasks import deliver
from apps.integrations_external.tests.monitoring.scrape import scrape, value
from apps.integrations_external.tests.slack.factories import SlackIntegrationFactory
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def test_metrics_count_sent_deliveries_by_outcome_and_duration(client, user, project, receiver):
    receiver.handler = lambda request: Reply(500) if "/bad" in request.path else Reply(200)
    good = [WebhookEndpointFactory(owner=user, url=receiver.url) for _ in range(2)]
    flaky = WebhookEndpointFactory(owner=user, url=receiver.url + "/bad", retry_count=1)
    broken = WebhookEndpointFactory(owner=user, url=receiver.url + "/bad", retry_count=0)
    ids = record_webhook_deliveries(project, user, [*good, flaky, broken])
    before = scrape(client)

    deliver("webhook", ids)

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hub_deliveries_total", channel="webhook", outcome="success") == 2
    assert delta("hub_deliveries_total", channel="webhook", outcome="retry") == 1
    assert delta("hub_deliveries_total", channel="webhook", outcome="failed") == 1
    assert delta("hub_delivery_attempt_duration_seconds_count", channel="webhook") == 4
    assert delta("hub_delivery_attempt_duration_seconds_bucket", channel="webhook", le="+Inf") == 4


def test_metrics_backlog_age_is_the_oldest_due_delivery_age(client, user, project):
    # given: a delivery due for five minutes
    endpoint = WebhookEndpointFactory(owner=user)
    [old, new] = record_webhook_deliveries(
        project, user, [endpoint, WebhookEndpointFactory(owner=user)]
    )
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=old).update(next_attempt_at=now - timedelta(seconds=300))
    # Leased by a worker (in flight), not waiting: it does not count.
    WebhookDelivery.objects.filter(pk=new).update(
        next_attempt_at=now - timedelta(seconds=900), locked_until=now + timedelta(seconds=60)
    )

    samples = scrape(client)

    age = value(samples, "hub_delivery_oldest_due_age_seconds", channel="webhook")
    assert 300 <= age < 360
    assert value(samples, "hub_delivery_due", channel="webhook") == 1
    assert value(samples, "hub_delivery_oldest_due_age_seconds", channel="email") == 0


def test_metrics_backlog_age_is_zero_with_nothing_due(client, user, project, receiver):
    ids = record_webhook_deliveries(
        project, user, [WebhookEndpointFactory(owner=user, url=receiver.url)]
    )
    deliver("webhook", ids)

    samples = scrape(client)

    assert value(samples, "hub_delivery_oldest_due_age_seconds", channel="webhook") == 0
    assert value(samples, "hub_delivery_due", channel="webhook") == 0


def test_metrics_gauges_count_failing_disabled_and_unhealthy(client, user):
    WebhookEndpointFactory(owner=user)  # healthy
    WebhookEndpointFactory(owner=user, failing_since=timezone.now(), consecutive_failures=3)
    WebhookEndpointFactory(owner=user, is_active=False, disabled_reason="410 Gone")
    SlackIntegrationFactory(owner=user, is_healthy=False, health_reason="invalid_auth")
    SlackIntegrationFactory(owner=user)

    samples = scrape(client)

    assert value(samples, "hub_webhook_endpoints_failing") == 1
    assert value(samples, "hub_webhook_endpoints_disabled") == 1
    assert value(samples, "hub_integrations_unhealthy", kind="slack") == 1
    assert value(samples, "hub_integrations_unhealthy", kind="github") == 0


def test_observe_many_counts_as_observing_one_by_one():
    one_by_one = ATTEMPT_SECONDS.labels("test-one-by-one")
    batched = ATTEMPT_SECONDS.labels("test-batched")
    amounts = [0.0, 1e-9, 0.005, 0.0051, 0.01, 0.2, 0.2, 30, 31, 1000]

    for amount in amounts:
        one_by_one.observe(amount)
    observe_many(batched, amounts)

    assert [b.get() for b in batched._buckets] == [b.get() for b in one_by_one._buckets]
    assert batched._sum.get() == pytest.approx(one_by_one._sum.get())


def test_metrics_counters_still_served_if_the_database_fails(client, user, project, receiver):
    deliver(
        "webhook",
        record_webhook_deliveries(project, user, [WebhookEndpointFactory(url=receiver.url)]),
    )
    table = WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')

    samples = scrape(client)

    assert value(samples, "hub_state_query_ok") == 0
    assert value(samples, "hub_deliveries_total", channel="webhook", outcome="success") >= 1
    assert ("hub_delivery_due", frozenset({("channel", "webhook")})) not in samples


def test_metrics_state_query_ok_with_the_database_up(client):
    assert value(scrape(client), "hub_state_query_ok") == 1
