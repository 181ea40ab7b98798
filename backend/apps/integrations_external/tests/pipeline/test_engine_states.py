"""The engine's states and its sending paths, held where mutation testing (`make mutation`) found
them free to change. Channels here are the webhook channel with another transport: a plain
(one-at-a-time) one, as Slack, Teams and email use, instead of the webhook's batch transport."""

import os
import signal
import threading
import time
import uuid

import pytest
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import engine
from apps.integrations_external.pipeline.channels import Outcome, SendResult
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.webhooks.channel import WebhookChannel

pytestmark = pytest.mark.django_db


def _channel(transport, concurrency: int = 1) -> WebhookChannel:
    # A name of its own: the engine keeps one thread pool per channel name and process, sized
    # by the first concurrency it saw.
    class PlainChannel(WebhookChannel):
        name = f"webhook-plain-{uuid.uuid4().hex[:8]}"

    PlainChannel.concurrency = concurrency
    channel = PlainChannel()
    channel.transport = lambda: transport  # type: ignore[method-assign]
    return channel


class _Answer:
    """Answers every send with the same result."""

    def __init__(self, result: SendResult) -> None:
        self.result = result

    def send(self, delivery):
        return self.result


class _Crashing:
    def send(self, delivery):
        raise RuntimeError("bug in the transport")


class _CrashingBatch:
    """A batch transport (as the webhook's) with a bug."""

    def send(self, delivery):  # pragma: no cover - send_many is what the engine calls
        raise AssertionError("send_many expected")

    def send_many(self, deliveries):
        raise RuntimeError("bug in the batch")


class _Busy:
    """Takes at least 20 ms of clock time per send and reports no duration of its own."""

    def send(self, delivery):
        until = time.perf_counter() + 0.02
        while time.perf_counter() < until:
            pass
        return SendResult(Outcome.SUCCESS, response_status=200)


class _Pairs:
    """Answers only when another send runs at the same time (a barrier of two): a channel that
    sent one at a time would fail every attempt. Records the threads that sent."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def send(self, delivery):
        with self.lock:
            self.threads.add(threading.current_thread().name)
        self.barrier.wait()
        return SendResult(Outcome.SUCCESS, response_status=200, response_body=str(delivery.pk))


def test_send_one_crashing_transport_leaves_a_retry_with_the_error(user, project):
    # Given a transport with a bug.
    endpoint = WebhookEndpointFactory(owner=user, retry_count=3)
    [pk] = record_webhook_deliveries(project, user, [endpoint])

    # When the delivery is processed.
    assert engine.process(_channel(_Crashing()), [pk]).done == 1

    # Then it is out of flight, will retry, and the attempt says what happened.
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "retrying"
    assert delivery.locked_until is None
    assert delivery.attempt_number == 1
    assert delivery.error_message == "internal error: RuntimeError: bug in the transport"
    [attempt] = delivery.attempt_history()
    assert attempt.outcome == "retry"
    assert attempt.error_message == delivery.error_message


def test_send_one_measures_the_duration_a_transport_does_not_report(user, project):
    [pk] = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)])

    engine.process(_channel(_Busy()), [pk])

    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "success"
    assert delivery.completed_at is not None
    assert delivery.next_attempt_at is None
    # At least the 20 ms the send took, and not wildly more.
    assert 20 <= delivery.duration_ms < 10_000
    assert delivery.attempt_history()[0].duration_ms == delivery.duration_ms


def test_send_all_plain_transport_sends_a_chunk_in_parallel_within_the_concurrency(user, project):
    # Given a plain transport that needs two sends at once, and a channel of two threads.
    transport = _Pairs()
    channel = _channel(transport, concurrency=2)
    ids = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)] * 6)

    # When the six are processed (one chunk: three rounds of two).
    assert engine.process(channel, ids).done == 6

    # Then every one succeeded, each with its own result, on no more threads than allowed.
    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert {d.status for d in deliveries} == {"success"}
    assert all(d.response_body == str(d.pk) for d in deliveries)
    assert len(transport.threads) == 2
    assert all(name.startswith("deliver-webhook-plain") for name in transport.threads)


def test_reopen_makes_a_finished_delivery_due_and_sendable_again(user, project):
    # Given a delivery that failed for good.
    endpoint = WebhookEndpointFactory(owner=user, retry_count=0)
    [pk] = record_webhook_deliveries(project, user, [endpoint])
    engine.process(_channel(_Crashing()), [pk])
    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "failed"
    assert delivery.completed_at is not None
    assert delivery.next_attempt_at is None

    # When it is reopened (an email resent by hand).
    engine.reopen(delivery)
    delivery.save()

    # Then it is pending, due now, out of any lease, and the next run sends it.
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.completed_at is None
    assert delivery.next_attempt_at <= timezone.now()
    assert engine.overdue_ids(_channel(_Busy()), grace_seconds=0) == [pk]
    assert engine.process(_channel(_Busy()), [pk]).done == 1
    delivery.refresh_from_db()
    assert delivery.status == "success"
    assert delivery.attempt_number == 2


@pytest.mark.parametrize(("retry_after", "wait"), [(None, 1.0), (0.001, 0.05), (30, 30)])
def test_apply_deferred_delivery_waits_its_pacing_without_spending_an_attempt(
    user, project, retry_after, wait
):
    # Given a transport that is not ready to send (pacing), with or without a wait of its own:
    # none means a second, and never less than 50 ms (no busy loop through the broker).
    [pk] = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)])
    before = timezone.now()

    engine.process(_channel(_Answer(SendResult(Outcome.DEFER, retry_after=retry_after))), [pk])

    delivery = WebhookDelivery.objects.get(pk=pk)
    after = timezone.now()
    assert delivery.status == "pending"
    assert delivery.attempt_number == 0
    waited_low = (delivery.next_attempt_at - after).total_seconds()
    waited_high = (delivery.next_attempt_at - before).total_seconds()
    assert waited_low <= wait <= waited_high


def test_record_attempt_started_its_duration_before_it_was_recorded(user, project):
    # Given a transport that reports a 5 s attempt.
    [pk] = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)])
    answer = SendResult(Outcome.SUCCESS, response_status=200, duration_ms=5000)

    engine.process(_channel(_Answer(answer)), [pk])

    # Then the attempt's start is 5 s before its end (the delivery's completion).
    delivery = WebhookDelivery.objects.get(pk=pk)
    [attempt] = delivery.attempt_history()
    assert attempt.duration_ms == 5000
    assert (delivery.completed_at - attempt.started_at).total_seconds() == 5


def test_record_stores_the_fields_a_transport_asks_for(user, project):
    # Given a transport that returns a field of its own for the delivery (Slack: the message's
    # timestamp, for threading), here the message id.
    [pk] = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)])
    answer = SendResult(
        Outcome.SUCCESS, response_status=200, delivery_fields={"webhook_id": "msg_from_transport"}
    )

    engine.process(_channel(_Answer(answer)), [pk])

    assert WebhookDelivery.objects.get(pk=pk).webhook_id == "msg_from_transport"


def test_send_all_crashing_batch_transport_leaves_every_delivery_a_retry_with_the_error(
    user, project
):
    endpoint = WebhookEndpointFactory(owner=user, retry_count=3)
    ids = record_webhook_deliveries(project, user, [endpoint] * 3)

    assert engine.process(_channel(_CrashingBatch(), concurrency=3), ids).done == 3

    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert {d.status for d in deliveries} == {"retrying"}
    assert {d.locked_until for d in deliveries} == {None}
    assert {d.error_message for d in deliveries} == {
        "internal error: RuntimeError: bug in the batch"
    }


def test_claim_returns_only_the_deliveries_it_won(user, project):
    # Given two due deliveries, one of them already claimed by another worker.
    channel = _channel(_Busy())
    first, second = record_webhook_deliveries(
        project, user, [WebhookEndpointFactory(owner=user)] * 2
    )
    assert [d.pk for d in engine.claim(channel, [second])] == [second]

    # When a worker claims both: it gets only the free one (else both would send it).
    assert [d.pk for d in engine.claim(channel, [first, second])] == [first]


class _Leases:
    """Records the lease each send runs under."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def send(self, delivery):
        self.tokens.append(delivery.lease_token)
        return SendResult(Outcome.SUCCESS, response_status=200)


def test_process_one_at_a_time_channel_claims_one_delivery_per_lease(user, project, settings):
    # Given a channel that sends one at a time, and a lease of two attempts' ceiling: a claim
    # of two would keep the second in flight past its lease if the first hung.
    settings.DELIVERY_LEASE_SECONDS = 2 * engine.ATTEMPT_SECONDS_CEILING
    transport = _Leases()
    ids = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)] * 3)

    assert engine.process(_channel(transport, concurrency=1), ids).done == 3

    assert len(set(transport.tokens)) == 3


def test_send_all_in_a_forked_child_gets_a_pool_of_its_own(user, project):
    # Given a channel whose thread pool exists in this process (a worker's parent, say).
    transport = _Pairs()
    channel = _channel(transport, concurrency=2)
    ids = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)] * 4)
    deliveries = list(WebhookDelivery.objects.filter(pk__in=ids).order_by("pk"))
    engine.send_all(channel, deliveries[:2])

    # When a forked child sends through the same channel (the pool's threads are not copied).
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            results = engine.send_all(channel, deliveries[2:])
            code = 0 if [r.outcome for _, r in results] == [Outcome.SUCCESS] * 2 else 1
        finally:
            os._exit(code)

    # Then it sends, rather than waiting forever on a pool with no threads.
    deadline = time.monotonic() + 10
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited == (0, 0):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the child's sends never ran")
    assert os.waitstatus_to_exitcode(waited[1]) == 0
