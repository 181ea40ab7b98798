"""publish() and the worker's fan-out, held where mutation testing (`make mutation`) found them
free to change: each test names the promise it keeps."""

import pytest

from apps.integrations_external.models import Event, WebhookDelivery
from apps.integrations_external.pipeline.events import fan_out_event, publish
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def test_fan_out_event_leaves_other_waiting_events_to_their_own_fan_out(user, project):
    # Given two events recorded by the platform, their fan-out left to a worker.
    endpoint = WebhookEndpointFactory(owner=user)
    first = publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)
    second = publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)

    # When the first one's message runs.
    fan_out_event(first.pk)

    # Then the second is still waiting (not marked done without deliveries: that would lose
    # it for good), and its own message delivers it.
    second.refresh_from_db()
    assert second.fanned_out_at is None
    assert not WebhookDelivery.objects.filter(event=second).exists()
    created = fan_out_event(second.pk)
    assert created is not None
    assert [d.endpoint_id for d in WebhookDelivery.objects.filter(event=second)] == [endpoint.pk]


def test_publish_with_explicit_targets_reaches_only_them(user, project):
    # Given two endpoints that routing would both pick.
    chosen = WebhookEndpointFactory(owner=user)
    WebhookEndpointFactory(owner=user)

    # When a message is published to one of them (a test message, a summary).
    event = publish(
        "workflow.completed", {}, project=project, actor=user, targets={"webhook": [chosen]}
    )

    # Then it is recorded as fanned out, with one delivery, to that target.
    event.refresh_from_db()
    assert event.fanned_out_at is not None
    assert [d.endpoint_id for d in WebhookDelivery.objects.filter(event=event)] == [chosen.pk]
    assert Event.objects.filter(pk=event.pk).count() == 1
