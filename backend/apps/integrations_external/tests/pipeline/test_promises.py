"""Promises of the pipeline that a one-line change could break silently: fan-out once per
event, the sweeper's re-fan of lost fan-outs, the back-off as the engine applies it, broker
countdowns versus the sweeper, lease-sized claims and batched messages.

Time is driven, never slept: a retry is made due by moving its `next_attempt_at`, and delays
are read from the timestamps the engine writes. Messages to the broker are read with a spy on
`deliver.apply_async` (what Celery would be asked to send), as the GitHub task tests do.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.models import Event, WebhookDelivery
from apps.integrations_external.pipeline import channels, engine
from apps.integrations_external.pipeline.channels import Outcome, SendResult
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver, sweep_deliveries
from apps.integrations_external.pipeline.tasks import fan_out as fan_out_task
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.webhooks.channel import WebhookChannel
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_messages(monkeypatch) -> list[dict]:
    """Every webhook `deliver` message the code asks Celery to send, as {"ids", "countdown"};
    nothing is sent or run (the test runs what it wants to, when it wants to)."""
    messages: list[dict] = []

    def spy(args=None, kwargs=None, countdown=None, **options):
        if args[0] == "webhook":
            messages.append({"ids": list(args[1]), "countdown": countdown})

    monkeypatch.setitem(deliver.app.conf, "task_always_eager", False)
    monkeypatch.setattr(deliver, "apply_async", spy)
    return messages


# -- fan-out --------------------------------------------------------------------------------


def test_fan_out_run_twice_creates_deliveries_once(user, project):
    endpoints = [WebhookEndpointFactory(owner=user) for _ in range(3)]
    event = publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)

    first = fan_out_task(event.pk)
    again = fan_out_task(event.pk)  # a redelivered message (acks_late), or the sweeper's

    assert first >= 3
    assert again == 0
    targets = WebhookDelivery.objects.filter(event=event).values_list("endpoint", flat=True)
    assert sorted(targets) == sorted(e.pk for e in endpoints)


def test_sweep_fans_out_event_whose_message_was_lost(
    user, project, receiver, settings, run_on_commit
):
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 30
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    # Its after-commit message never left (the on-commit hooks of this test never run).
    lost = publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)
    Event.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=60))
    recent = publish("workflow.completed", {}, project=project, actor=user, fan_out_later=True)

    with run_on_commit():
        found = sweep_deliveries()

    assert found == {"events": 1}
    delivery = WebhookDelivery.objects.get(event=lost)
    assert delivery.endpoint == endpoint
    assert len(receiver.wait_for(1)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "success"
    # The recent one is still within its own message's grace period.
    assert not WebhookDelivery.objects.filter(event=recent).exists()
    lost.refresh_from_db()
    assert lost.fanned_out_at is not None


# -- back-off as the engine applies it ------------------------------------------------------


def test_retry_waits_grow_fourfold_with_real_base(user, project, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5.0  # the default
    settings.WEBHOOK_RETRY_MAX_SECONDS = 10 * 3600.0
    receiver.default = Reply(500, b"down")
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=5)
    [pk] = record_webhook_deliveries(project, user, [endpoint])

    waits = []
    for _ in range(5):
        before = timezone.now()
        deliver("webhook", [pk])
        after = timezone.now()
        delivery = WebhookDelivery.objects.get(pk=pk)
        assert delivery.status == "retrying"
        # The engine stamps its own `now` between `before` and `after`.
        waits.append(
            (
                (delivery.next_attempt_at - after).total_seconds(),
                (delivery.next_attempt_at - before).total_seconds(),
            )
        )
        # The clock moves on to the retry: it is due now.
        WebhookDelivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now())

    for n, (low, high) in enumerate(waits, start=1):
        expected = 5.0 * 4 ** (n - 1)  # 5 s, 20 s, 80 s, 320 s, 1280 s, ±20 %
        assert 0.8 * expected <= high, (n, waits)
        assert low <= 1.2 * expected, (n, waits)
    assert len(receiver.requests) == 5


# -- broker countdown or sweeper ------------------------------------------------------------


def test_deliver_requeues_retries_due_soon_with_countdown(
    user, project, receiver, sent_messages, run_on_commit
):
    # given: retries due within the countdown horizon
    assert engine.COUNTDOWN_HORIZON_SECONDS == 120
    waits = {"/a": "7", "/b": "120", "/c": "121", "/d": "3000"}
    receiver.handler = lambda request: Reply(
        429, headers={"Retry-After": waits[request.path.removeprefix("/hook")]}
    )
    endpoints = {
        path: WebhookEndpointFactory(owner=user, url=receiver.url + path) for path in waits
    }
    ids = record_webhook_deliveries(project, user, list(endpoints.values()))
    by_path = dict(zip(waits, ids, strict=True))

    with run_on_commit():
        deliver("webhook", ids)  # the engine reports what is due soon; the task enqueues it

    assert sorted((m["countdown"], m["ids"]) for m in sent_messages) == [
        (7, [by_path["/a"]]),
        (120, [by_path["/b"]]),
    ]
    for path, pk in by_path.items():
        delivery = WebhookDelivery.objects.get(pk=pk)
        assert delivery.status == "retrying", path


def test_sweep_sends_retry_due_beyond_the_horizon(
    user, project, receiver, settings, sent_messages, run_on_commit
):
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 30
    receiver.script = [Reply(429, headers={"Retry-After": "600"})]
    [pk] = record_webhook_deliveries(
        project, user, [WebhookEndpointFactory(owner=user, url=receiver.url)]
    )
    with run_on_commit():
        deliver("webhook", [pk])
    assert sent_messages == []  # no ten-minute timer in the broker
    assert sweep_deliveries() == {}  # not due yet

    # Ten minutes later, and the sweep interval after that.
    WebhookDelivery.objects.filter(pk=pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=31)
    )
    found = sweep_deliveries()

    assert found == {"webhook": 1}
    assert sent_messages == [{"ids": [pk], "countdown": None}]


# -- claims sized to the lease --------------------------------------------------------------


class _Hanging:
    """A transport whose every attempt takes the longest an attempt may take; records the size
    of each chunk it is handed and when that chunk's lease ends."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, float]] = []

    def send(self, delivery):  # pragma: no cover - send_many is what the engine calls
        raise AssertionError("send_many expected")

    def send_many(self, deliveries):
        lease_left = min((d.locked_until - timezone.now()).total_seconds() for d in deliveries)
        self.chunks.append((len(deliveries), lease_left))
        return [
            SendResult(
                Outcome.RETRY,
                error="timed out",
                duration_ms=engine.ATTEMPT_SECONDS_CEILING * 1000,
            )
            for _ in deliveries
        ]


@pytest.mark.parametrize(("lease", "chunks"), [(60, [5] * 5), (150, [10, 10, 5]), (600, [25])])
def test_process_hanging_chunk_ends_within_half_lease(user, project, settings, lease, chunks):
    # given: receivers that hang until the timeout
    settings.DELIVERY_LEASE_SECONDS = lease
    hanging = _Hanging()

    class HangingChannel(WebhookChannel):
        concurrency = 5

        def transport(self):
            return hanging

    channel = HangingChannel()
    # Room for all 25 at once: this is about chunk sizes, not the endpoint's concurrency limit.
    endpoint = WebhookEndpointFactory(owner=user, max_in_flight=25)
    ids = record_webhook_deliveries(project, user, [endpoint] * 25)

    assert engine.process(channel, ids).done == 25

    assert [size for size, _ in hanging.chunks] == chunks
    for size, lease_left in hanging.chunks:
        # `concurrency` at once: a chunk takes this many rounds of the longest attempt.
        rounds = -(-size // channel.concurrency)
        assert rounds * engine.ATTEMPT_SECONDS_CEILING * 2 <= lease_left + 1


def test_chunk_size_webhook_slowest_chunk_fits_lease(settings):
    from apps.integrations_external.webhooks.models import WebhookEndpoint

    settings.DELIVERY_LEASE_SECONDS = 60
    channel = channels.get("webhook")
    longest = max(
        v.limit_value
        for v in WebhookEndpoint._meta.get_field("timeout_seconds").validators
        if hasattr(v, "limit_value") and v.limit_value > 1
    )

    assert longest <= engine.ATTEMPT_SECONDS_CEILING
    assert engine.chunk_size(channel) == channel.concurrency  # one round of sends per claim


def test_chunk_size_short_lease_still_one_round(settings):
    settings.DELIVERY_LEASE_SECONDS = 10

    class FourAtOnce(WebhookChannel):
        concurrency = 4

    channel = FourAtOnce()

    assert engine.chunk_size(channel) == 4


# -- messages batched by DELIVERY_BATCH_SIZE ------------------------------------------------


def test_fan_out_enqueues_one_message_per_batch(
    user, project, settings, sent_messages, run_on_commit
):
    settings.DELIVERY_BATCH_SIZE = 3
    for _ in range(7):
        WebhookEndpointFactory(owner=user)

    with run_on_commit():
        event = publish("workflow.completed", {}, project=project, actor=user)

    ids = list(
        WebhookDelivery.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)
    )
    assert [m["ids"] for m in sent_messages] == [ids[0:3], ids[3:6], ids[6:7]]


def test_sweep_enqueues_overdue_in_batches(user, project, settings, sent_messages):
    settings.DELIVERY_BATCH_SIZE = 4
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 0
    ids = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)] * 10)

    assert sweep_deliveries() == {"webhook": 10}

    assert [len(m["ids"]) for m in sent_messages] == [4, 4, 2]
    assert sorted(i for m in sent_messages for i in m["ids"]) == sorted(ids)
