"""The pipeline through real Celery worker processes on a real Redis."""

import threading

import pytest
from standardwebhooks import Webhook

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import sweep_deliveries
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory
from tests_support.receivers import Reply
from tests_support.services import wait_until

pytestmark = pytest.mark.services


@pytest.fixture
def send_through(tasks_through_redis):
    return tasks_through_redis


def _all_succeeded(endpoint_ids, count, worker):
    assert worker.proc.poll() is None, f"the worker exited:\n{worker.log()[-3000:]}"
    done = WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids, status="success").count()
    return done == count


def test_worker_delivers_workflow_event_to_each_endpoint(
    send_through, celery_worker_process, client_for, receiver
):
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    endpoints = [WebhookEndpointFactory(owner=owner, url=receiver.url) for _ in range(3)]
    WebhookEndpointFactory(owner=owner, url=receiver.url, trigger_workflow_completion=False)
    WebhookEndpointFactory(owner=UserFactory(), url=receiver.url)  # cannot see the project
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))
    worker = celery_worker_process(send_through)

    response = client_for(owner).post(f"/api/v1/workflow-executions/{execution.pk}/complete/")

    assert response.status_code == 200
    ids = [e.pk for e in endpoints]
    wait_until(lambda: _all_succeeded(ids, 3, worker), timeout=60, message="3 deliveries")
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    for endpoint in endpoints:
        mine = [
            r
            for r in requests
            if r.headers["webhook-id"] == WebhookDelivery.objects.get(endpoint=endpoint).webhook_id
        ]
        [request] = mine
        payload = Webhook(endpoint.secret).verify(request.body, request.headers)
        assert payload["type"] == "workflow.completed"
        assert payload["data"]["execution"]["id"] == execution.pk


def test_worker_killed_mid_delivery_next_one_finishes(
    send_through, celery_worker_process, receiver, settings
):
    # given: a worker killed mid-delivery; then: a new worker delivers everything
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 0  # the test plays beat: it calls the sweeper
    short_lease = {"DELIVERY_LEASE_SECONDS": "2", "DELIVERY_SWEEP_INTERVAL_SECONDS": "0"}
    first_request = threading.Event()

    def hang_on_the_first(request):
        if not first_request.is_set():
            first_request.set()
            return Reply(200, delay=15)
        return Reply(200)

    receiver.handler = hang_on_the_first
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    endpoints = [WebhookEndpointFactory(owner=owner, url=receiver.url) for _ in range(4)]
    worker = celery_worker_process(send_through, extra_env=short_lease, concurrency=1)

    publish("workflow.completed", {"run": 1}, project=project, actor=owner)
    assert first_request.wait(60), f"no request reached the receiver:\n{worker.log()[-3000:]}"
    worker.kill()  # SIGKILL mid-request: the batch's results were never recorded
    assert not WebhookDelivery.objects.filter(status="success").exists()

    new_worker = celery_worker_process(send_through, extra_env=short_lease, concurrency=1)

    def swept_and_done():
        sweep_deliveries()  # re-enqueues those whose lease ran out
        return _all_succeeded([e.pk for e in endpoints], 4, new_worker)

    wait_until(swept_and_done, timeout=60, interval=1, message="4 deliveries after the crash")
    deliveries = list(WebhookDelivery.objects.filter(endpoint__in=endpoints))
    received_ids = [r.headers["webhook-id"] for r in receiver.requests]
    for delivery in deliveries:
        # At least once, always under the same webhook-id, and recorded exactly once.
        assert delivery.webhook_id in received_ids
        assert delivery.attempt_number == 1
        assert len(delivery.attempt_history()) == 1
    assert set(received_ids) == {d.webhook_id for d in deliveries}
    assert len(received_ids) > 4  # the killed worker's requests were sent again
