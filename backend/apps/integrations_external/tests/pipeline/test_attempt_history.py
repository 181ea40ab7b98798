"""A success is kept on its delivery's row, not as an attempt row; the history still shows it."""

from datetime import timedelta

import pytest

from apps.integrations_external.models import WebhookDelivery, WebhookDeliveryAttempt
from apps.integrations_external.pipeline import engine
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.tests.webhooks.helpers import API
from apps.integrations_external.webhooks.channel import WebhookChannel
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def _sent(user, project, receiver, **endpoint) -> WebhookDelivery:
    endpoint_row = WebhookEndpointFactory(owner=user, url=receiver.url, **endpoint)
    [pk] = record_webhook_deliveries(project, user, [endpoint_row])
    engine.process(WebhookChannel(), [pk])
    return WebhookDelivery.objects.get(pk=pk)


def test_success_writes_no_attempt_row(user, project, receiver):
    delivery = _sent(user, project, receiver)

    assert delivery.status == "success"
    assert not WebhookDeliveryAttempt.objects.filter(delivery=delivery).exists()


def test_success_is_in_the_history_as_the_row_holds_it(user, project, receiver):
    receiver.script = [Reply(202, body=b"thanks")]

    delivery = _sent(user, project, receiver)

    [attempt] = delivery.attempt_history()
    assert attempt.pk is None  # built from the delivery's row, not stored
    assert (attempt.attempt_number, attempt.outcome) == (1, "success")
    assert (attempt.response_status, attempt.response_body) == (202, "thanks")
    assert attempt.duration_ms == delivery.duration_ms
    assert attempt.started_at == delivery.completed_at - timedelta(
        milliseconds=delivery.duration_ms
    )
    [request] = receiver.wait_for(1)
    assert attempt.request_headers["webhook-id"] == request.headers["webhook-id"]


def test_retries_are_rows_and_the_success_follows_them(user, project, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.0
    receiver.script = [Reply(500)]
    delivery = _sent(user, project, receiver, retry_count=3)
    assert delivery.status == "retrying"
    delivery.next_attempt_at = None
    delivery.save(update_fields=["next_attempt_at"])

    engine.process(WebhookChannel(), [delivery.pk])

    delivery.refresh_from_db()
    stored = WebhookDeliveryAttempt.objects.filter(delivery=delivery)
    assert [(a.attempt_number, a.outcome) for a in stored] == [(1, "retry")]
    history = delivery.attempt_history()
    assert [(a.attempt_number, a.outcome, a.response_status) for a in history] == [
        (1, "retry", 500),
        (2, "success", 200),
    ]


def test_success_stored_as_a_row_is_not_shown_twice(user, project, receiver):
    # Successes recorded before they were kept on the row alone have an attempt row.
    delivery = _sent(user, project, receiver)
    WebhookDeliveryAttempt.objects.create(delivery=delivery, **delivery.success_attempt_values())

    assert [a.outcome for a in delivery.attempt_history()] == ["success"]


def test_reopening_a_success_stores_it_first(user, project, receiver):
    delivery = _sent(user, project, receiver)

    engine.reopen(delivery)
    delivery.save()
    engine.process(WebhookChannel(), [delivery.pk])

    delivery.refresh_from_db()
    assert [(a.attempt_number, a.outcome, a.pk is None) for a in delivery.attempt_history()] == [
        (1, "success", False),
        (2, "success", True),
    ]


def test_api_detail_lists_the_success_with_its_request_headers(user, project, receiver, client_for):
    delivery = _sent(user, project, receiver)

    resp = client_for(user).get(f"{API}/webhook-deliveries/{delivery.pk}/")

    assert resp.status_code == 200
    [attempt] = resp.data["attempts"]
    assert attempt["outcome"] == "success"
    assert attempt["response_status"] == 200
    assert attempt["request_headers"]["webhook-id"] == delivery.webhook_id
