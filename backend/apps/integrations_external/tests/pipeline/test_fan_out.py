"""The fan-out writes plain rows (no model instance per delivery) from targets routing loaded
with only the columns a delivery needs: same rows as before, a cost that does not grow in
queries with the number of targets."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import routing
from apps.integrations_external.pipeline.events import fan_out_event, publish
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def test_fan_out_rows_carry_the_event_its_envelope_and_fresh_state(user, project):
    # Given three endpoints that want workflow events.
    endpoints = [WebhookEndpointFactory(owner=user) for _ in range(3)]

    # When an event is fanned out by the worker.
    event = publish(
        "workflow.completed", {"run": 1}, project=project, actor=user, fan_out_later=True
    )
    created = fan_out_event(event.pk)

    # Then each endpoint has one pending delivery carrying the event's envelope, due now, and
    # the ids handed to the workers are exactly those rows.
    stored = list(WebhookDelivery.objects.filter(event=event).order_by("pk"))
    assert created is not None
    assert created.created["webhook"] == [d.pk for d in stored]
    assert sorted(d.endpoint_id for d in stored) == sorted(e.pk for e in endpoints)
    event.refresh_from_db()
    for delivery in stored:
        assert delivery.event_type == "workflow.completed"
        assert delivery.payload == event.envelope()
        assert (delivery.status, delivery.attempt_number) == ("pending", 0)
        assert delivery.next_attempt_at is not None
        assert delivery.locked_until is None
        assert delivery.completed_at is None
    assert len({d.webhook_id for d in stored}) == 3


def _fan_out_queries(user, project, endpoints: int) -> int:
    for _ in range(endpoints):
        WebhookEndpointFactory(owner=user)
    event = publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)
    with CaptureQueriesContext(connection) as queries:
        created = fan_out_event(event.pk)
    assert created is not None
    assert len(created.created["webhook"]) == endpoints
    return len(queries.captured_queries)


def test_fan_out_queries_do_not_grow_with_the_targets(user, project, other_user):
    # Given one owner with 2 endpoints and another with 20 (each event routed to its owner's).
    other_project = project.__class__.objects.create(owner=other_user, name="other")

    # When an event of each is fanned out.
    few = _fan_out_queries(user, project, 2)
    many = _fan_out_queries(other_user, other_project, 20)

    # Then both took as many queries: no target loads a column lazily, no delivery is a query.
    assert few == many


def test_routed_webhook_targets_load_only_what_a_delivery_needs(user, project):
    # Given an endpoint subscribed to one custom event type.
    endpoint = WebhookEndpointFactory(owner=user, custom_events=["deploy.done"])
    event = publish("deploy.done", {}, actor=user, fan_out_later=True)

    # When routing picks it.
    [target] = routing.route(event)["webhook"]

    # Then it came with its id and its subscriptions, and without its secrets.
    assert target.pk == endpoint.pk
    assert target.get_deferred_fields() >= {"secret", "headers", "url"}
    assert "custom_events" not in target.get_deferred_fields()
