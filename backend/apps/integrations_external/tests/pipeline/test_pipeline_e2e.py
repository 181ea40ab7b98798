import pytest
from standardwebhooks import Webhook

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import run_when_due
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def test_pipeline_workflow_completed_sends_signed_request(
    user, project, client_for, run_on_commit, receiver
):
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    with run_on_commit():
        resp = client_for(user).post(f"/api/v1/workflow-executions/{execution.pk}/complete/")
    assert resp.status_code == 200

    [request] = receiver.wait_for(1)
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "workflow.completed"
    assert payload["data"]["execution"]["id"] == execution.pk
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "success"
    assert len(delivery.attempt_history()) == 1


def test_pipeline_retries_until_success_on_third_attempt(
    user, project, run_on_commit, receiver, settings, time_machine
):
    # given: a receiver that fails twice
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5.0
    receiver.script = [Reply(500), Reply(502)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    from apps.integrations_external.pipeline.events import publish

    with run_on_commit():
        publish("workflow.completed", {"x": 1}, project=project, actor=user)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    # Eager tasks cannot wait for a countdown: move the clock to each retry's due time and run it
    # there (a run a moment earlier sends nothing).
    for _ in range(2):
        delivery.refresh_from_db()
        assert delivery.status == "retrying"
        run_when_due(delivery, time_machine)

    requests = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "success"
    assert [a.response_status for a in delivery.attempt_history()] == [500, 502, 200]
