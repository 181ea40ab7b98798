"""Webhook message ids: unique, and in creation order in the `webhook_id` index."""

import time

import pytest
from django.utils import timezone

from apps.integrations_external.models import Event, WebhookDelivery
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.webhooks.models import new_message_id


def test_message_ids_are_distinct_and_fit_their_column():
    ids = [new_message_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    limit = WebhookDelivery._meta.get_field("webhook_id").max_length
    assert all(i.startswith("msg_") and len(i) <= limit for i in ids)


@pytest.mark.django_db
def test_later_message_ids_sort_after_earlier_ones_in_the_database(user):
    # Given deliveries made a few milliseconds apart (each gets its id at creation).
    endpoint = WebhookEndpointFactory(owner=user)
    event = Event.objects.create(type="workflow.completed", occurred_at=timezone.now())
    made = []
    for _ in range(5):
        made.append(WebhookDelivery.objects.create(endpoint=endpoint, event=event).pk)
        time.sleep(0.002)

    # Then the database's own order of the ids (its collation) is the order they were made:
    # new ids append to the index rather than land on random pages.
    by_id = WebhookDelivery.objects.order_by("webhook_id").values_list("pk", flat=True)
    assert list(by_id) == made
