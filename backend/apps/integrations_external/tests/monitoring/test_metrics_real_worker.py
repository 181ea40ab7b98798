"""`/metrics` adds up what real Celery worker processes (prefork children) counted."""

import pytest

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.monitoring.scrape import scrape, value
from apps.integrations_external.tests.pipeline.test_real_workers import _all_succeeded
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory
from tests_support.services import wait_until

pytestmark = pytest.mark.services


def test_metrics_count_every_delivery_of_a_worker_pool(
    tasks_through_redis, celery_worker_process, receiver, client
):
    # when: scraped from the web process
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    endpoints = [WebhookEndpointFactory(owner=owner, url=receiver.url) for _ in range(4)]
    ids = [e.pk for e in endpoints]
    worker = celery_worker_process(tasks_through_redis, concurrency=2)
    before = scrape(client)

    for _ in range(5):  # several messages, so both pool children take some
        publish("workflow.completed", {}, project=project, actor=owner)
    wait_until(lambda: _all_succeeded(ids, 20, worker), timeout=60, message="20 deliveries")

    after = scrape(client)  # this test process sent nothing itself
    success = ("hub_deliveries_total", {"channel": "webhook", "outcome": "success"})
    assert value(after, success[0], **success[1]) - value(before, success[0], **success[1]) == 20
    assert WebhookDelivery.objects.filter(endpoint_id__in=ids, status="success").count() == 20
