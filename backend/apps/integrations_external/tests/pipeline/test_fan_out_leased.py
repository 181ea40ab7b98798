"""The worker's fan-out writes its first chunk already leased and sends it itself (events.fan_out
with `lease=True`, engine.process_leased): no claim and no deliver message for those, the same
per-endpoint limits as a claim, and nothing lost if the worker dies before sending."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.models import EmailDelivery, TargetPace, WebhookDelivery
from apps.integrations_external.pipeline import engine
from apps.integrations_external.pipeline.events import fan_out_event, publish
from apps.integrations_external.pipeline.tasks import deliver, fan_out
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.webhooks.channel import CHANNEL
from tests_support.receivers import Receiver

pytestmark = pytest.mark.django_db


def _event(user, project):
    return publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)


def _of(event):
    return list(WebhookDelivery.objects.filter(event=event).order_by("pk"))


def test_fan_out_task_sends_its_first_chunk_without_a_claim(user, project, monkeypatch):
    # Given three endpoints on a real receiver, and a claim that would fail the test if used.
    receiver = Receiver().start()
    try:
        for _ in range(3):
            WebhookEndpointFactory(owner=user, url=receiver.url)
        event = _event(user, project)

        def no_claim(*args, **kwargs):
            raise AssertionError("the fan-out's own chunk needs no claim")

        monkeypatch.setattr(engine, "claim_chunk", no_claim)

        # When the worker's fan-out task runs.
        created = fan_out(event.pk)
    finally:
        receiver.stop()

    # Then it sent all three itself, once each, and recorded them with their attempts (the
    # count includes the owner's own email notification, left to the workers).
    assert created == 3 + EmailDelivery.objects.filter(event=event).count()
    assert len(receiver.requests) == 3
    for delivery in _of(event):
        assert (delivery.status, delivery.attempt_number) == ("success", 1)
        assert (delivery.locked_until, delivery.lease_token) == (None, "")
        assert len(delivery.attempt_history()) == 1


def test_fan_out_leases_only_to_endpoints_with_room(user, project):
    # Given an endpoint allowed 1 at once with one delivery in flight, and a free endpoint.
    full = WebhookEndpointFactory(owner=user, max_in_flight=1)
    free = WebhookEndpointFactory(owner=user)
    [busy] = record_webhook_deliveries(project, user, [full])
    assert engine.claim(CHANNEL, [busy])
    event = _event(user, project)

    # When the event is fanned out with leasing.
    fanned = fan_out_event(event.pk, lease=True)

    # Then the free endpoint's delivery is written leased to the fan-out, and the full one's
    # is written free and handed to the workers, whose claim holds it back.
    assert fanned is not None
    by_endpoint = {d.endpoint_id: d for d in _of(event)}
    leased, waiting = by_endpoint[free.pk], by_endpoint[full.pk]
    assert leased.lease_token == fanned.leased["webhook"]
    assert leased.locked_until > timezone.now()
    assert (waiting.lease_token, waiting.locked_until) == ("", None)
    assert fanned.queued["webhook"] == [waiting.pk]
    assert sorted(fanned.created["webhook"]) == sorted([leased.pk, waiting.pk])
    assert engine.claim_chunk(CHANNEL, [waiting.pk]).deferred


def test_fan_out_leases_to_a_rate_limited_endpoint_only_within_its_rate(user, project):
    # Given two endpoints allowed one delivery a second, one of which just had its second's.
    paced = WebhookEndpointFactory(owner=user, rate_limit=1)
    fresh = WebhookEndpointFactory(owner=user, rate_limit=1)
    later = timezone.now() + timedelta(seconds=1)
    TargetPace.objects.create(channel="webhook", target_id=paced.pk, next_at=later)
    event = _event(user, project)

    # When the event is fanned out with leasing.
    fanned = fan_out_event(event.pk, lease=True)

    # Then only the fresh endpoint's delivery is leased, and its pace moved a second on.
    assert fanned is not None
    by_endpoint = {d.endpoint_id: d for d in _of(event)}
    assert by_endpoint[fresh.pk].lease_token == fanned.leased["webhook"]
    assert by_endpoint[paced.pk].lease_token == ""
    pace = TargetPace.objects.get(channel="webhook", target_id=fresh.pk).next_at
    assert pace > timezone.now() + timedelta(seconds=0.5)
    assert TargetPace.objects.get(channel="webhook", target_id=paced.pk).next_at == later


def test_fan_out_leases_no_more_than_one_claim_takes(user, project, monkeypatch):
    # Given a channel whose claim takes 2 deliveries, and 5 endpoints.
    monkeypatch.setattr(type(CHANNEL), "concurrency", 2)
    for _ in range(5):
        WebhookEndpointFactory(owner=user)
    event = _event(user, project)

    # When the event is fanned out with leasing.
    fanned = fan_out_event(event.pk, lease=True)

    # Then the first 2 are leased (the lease is sized for one claim's sending) and the other 3
    # go to the workers.
    assert fanned is not None
    tokens = [d.lease_token for d in _of(event)]
    assert tokens == [fanned.leased["webhook"]] * 2 + [""] * 3
    assert fanned.queued["webhook"] == fanned.created["webhook"][2:]


def test_fan_out_without_leasing_writes_every_delivery_free(user, project):
    # Given two endpoints.
    WebhookEndpointFactory(owner=user)
    WebhookEndpointFactory(owner=user)
    event = _event(user, project)

    # When the event is fanned out as callers other than the worker's task do.
    fanned = fan_out_event(event.pk)

    # Then nothing is leased and every delivery is for the workers.
    assert fanned is not None
    assert fanned.leased == {}
    assert fanned.queued == fanned.created
    assert {d.lease_token for d in _of(event)} == {""}


def test_leased_deliveries_of_a_lost_fan_out_go_to_the_workers_when_the_lease_ends(user, project):
    # Given a fan-out that wrote its deliveries leased, then died before sending them.
    receiver = Receiver().start()
    try:
        WebhookEndpointFactory(owner=user, url=receiver.url)
        event = _event(user, project)
        fanned = fan_out_event(event.pk, lease=True)
        assert fanned is not None
        [delivery] = _of(event)

        # Then while the lease holds, neither a worker's message nor the sweeper takes it.
        assert deliver("webhook", [delivery.pk]) == 0
        assert engine.overdue_ids(CHANNEL, grace_seconds=0) == []

        # And once it has run out, the sweeper finds it and a worker sends it, once.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            locked_until=timezone.now() - timedelta(seconds=1)
        )
        assert engine.overdue_ids(CHANNEL, grace_seconds=0) == [delivery.pk]
        assert deliver("webhook", [delivery.pk]) == 1

        # And the dead fan-out's token, used late, sends nothing more.
        late = engine.process_leased(CHANNEL, event_id=event.pk, token=fanned.leased["webhook"])
    finally:
        receiver.stop()
    assert late.done == 0
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_number) == ("success", 1)


def test_process_leased_twice_sends_once(user, project):
    # Given a fan-out's leased deliveries to a real receiver.
    receiver = Receiver().start()
    try:
        WebhookEndpointFactory(owner=user, url=receiver.url)
        WebhookEndpointFactory(owner=user, url=receiver.url)
        event = _event(user, project)
        fanned = fan_out_event(event.pk, lease=True)
        assert fanned is not None
        token = fanned.leased["webhook"]

        # When they are processed twice (a redelivered task).
        first = engine.process_leased(CHANNEL, event_id=event.pk, token=token)
        second = engine.process_leased(CHANNEL, event_id=event.pk, token=token)
    finally:
        receiver.stop()

    # Then each was sent once.
    assert (first.done, second.done) == (2, 0)
    assert len(receiver.requests) == 2


def test_fan_out_leases_only_its_largest_channel(user, project):
    # Given an event that reaches its owner by email and three webhook endpoints.
    for _ in range(3):
        WebhookEndpointFactory(owner=user)
    event = _event(user, project)

    # When it is fanned out with leasing.
    fanned = fan_out_event(event.pk, lease=True)

    # Then only the webhooks' chunk is leased: the email waits for a worker's claim, since a
    # lease written now would run down while the webhooks are sent.
    assert fanned is not None
    assert list(fanned.leased) == ["webhook"]
    [mail] = EmailDelivery.objects.filter(event=event)
    assert (mail.lease_token, mail.locked_until) == ("", None)
    assert fanned.queued["email"] == [mail.pk]


def test_fan_out_task_of_an_event_nobody_receives_marks_it_done():
    # Given an event with no project and no actor: no channel routes it anywhere.
    event = publish("workflow.completed", {}, fan_out_later=True)

    # When the worker's fan-out task runs.
    created = fan_out(event.pk)

    # Then it created nothing, leased nothing, and the event is fanned out for good.
    assert created == 0
    event.refresh_from_db()
    assert event.fanned_out_at is not None
