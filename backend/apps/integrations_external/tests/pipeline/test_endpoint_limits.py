"""Per-endpoint limits at claim time (pipeline/limits.py): concurrency, rate, and fairness
between a slow endpoint's backlog and a healthy endpoint."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.models import TargetPace, WebhookDelivery
from apps.integrations_external.pipeline import engine
from apps.integrations_external.pipeline.channels import Outcome, SendResult
from apps.integrations_external.pipeline.scheduling import enqueue
from apps.integrations_external.pipeline.tasks import deliver, prune_deliveries
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.webhooks.channel import CHANNEL
from tests_support.receivers import Receiver, Reply
from tests_support.services import wait_until


def _deliveries(ids):
    return list(WebhookDelivery.objects.filter(pk__in=ids).order_by("pk"))


def _make_due(ids):
    # What the countdown's message coming back finds: the held-back deliveries due again.
    WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_claim_chunk_takes_at_most_max_in_flight_of_one_endpoint(user, project):
    # Given 10 due deliveries to an endpoint allowed 3 at once, and 2 to another endpoint
    small = WebhookEndpointFactory(owner=user, max_in_flight=3)
    other = WebhookEndpointFactory(owner=user)
    small_ids = record_webhook_deliveries(project, user, [small] * 10)
    other_ids = record_webhook_deliveries(project, user, [other] * 2)

    # When one claim is offered all 12
    taken = engine.claim_chunk(CHANNEL, small_ids + other_ids)

    # Then it leases 3 of the small endpoint's and both of the other's; the 7 held back are due
    # a little later, with no attempt spent, and are handed back for a broker countdown
    assert sorted(d.pk for d in taken.deliveries) == small_ids[:3] + other_ids
    held_back = sorted(pk for ids in taken.deferred.values() for pk in ids)
    assert held_back == small_ids[3:]
    assert min(taken.deferred) >= 1.0
    now = timezone.now()
    for delivery in _deliveries(small_ids[3:]):
        assert delivery.status == "pending"
        assert delivery.attempt_number == 0
        assert len(delivery.attempt_history()) == 0
        assert not delivery.lease_token
        assert delivery.next_attempt_at > now


@pytest.mark.django_db
def test_claim_chunk_counts_slots_leased_by_other_claims(user, project):
    # Given an endpoint allowed 3 at once whose 3 slots another claim holds
    endpoint = WebhookEndpointFactory(owner=user, max_in_flight=3)
    ids = record_webhook_deliveries(project, user, [endpoint] * 8)
    first = engine.claim_chunk(CHANNEL, ids)
    assert len(first.deliveries) == 3

    # When the held-back deliveries come back while those 3 are in flight
    _make_due(ids[3:])
    second = engine.claim_chunk(CHANNEL, ids)

    # Then none is taken; once the first claim's results are recorded, 3 more are
    assert second.deliveries == []
    assert sorted(pk for pks in second.deferred.values() for pk in pks) == ids[3:]
    engine.record(CHANNEL, [(d, SendResult(Outcome.SUCCESS, 200)) for d in first.deliveries])
    _make_due(ids[3:])
    third = engine.claim_chunk(CHANNEL, ids)
    assert [d.pk for d in third.deliveries] == ids[3:6]


@pytest.mark.django_db
def test_claim_chunk_paces_a_rate_limited_endpoint(user, project):
    # Given an endpoint limited to 5 deliveries per second, with 6 due
    endpoint = WebhookEndpointFactory(owner=user, rate_limit=5)
    ids = record_webhook_deliveries(project, user, [endpoint] * 6)

    # When a claim is offered all of them
    before = timezone.now()
    taken = engine.claim_chunk(CHANNEL, ids)

    # Then it takes one (a tenth of a second's worth, at least one), the others come back an
    # interval (0.2 s) apart, and the endpoint's pace moved one interval on
    assert [d.pk for d in taken.deliveries] == ids[:1]
    countdowns = sorted(taken.deferred)
    assert [len(taken.deferred[c]) for c in countdowns] == [1] * 5
    assert countdowns[0] >= 0.1
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(countdowns))
    pace = TargetPace.objects.get(channel="webhook", target_id=endpoint.pk).next_at
    assert before + timedelta(seconds=0.2) <= pace <= timezone.now() + timedelta(seconds=0.2)

    # And a claim right after takes nothing more
    _make_due(ids[1:])
    assert engine.claim_chunk(CHANNEL, ids).deliveries == []


@pytest.mark.django_db
def test_deliver_spends_no_attempt_on_held_back_deliveries(user, project):
    # Given a real receiver and 5 deliveries to an endpoint allowed 2 at once
    receiver = Receiver().start()
    try:
        endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, max_in_flight=2)
        ids = record_webhook_deliveries(project, user, [endpoint] * 5)

        # When one task runs over all of them
        done = deliver("webhook", ids)
    finally:
        receiver.stop()

    # Then 2 are sent and succeed; 3 wait, untouched, for their countdown
    assert done == 2
    assert len(receiver.requests) == 2
    statuses = [(d.status, d.attempt_number) for d in _deliveries(ids)]
    assert statuses == [("success", 1)] * 2 + [("pending", 0)] * 3


@pytest.mark.django_db
def test_unlimited_channel_claim_is_unchanged(user, project):
    # Given a channel whose targets have no limits (the contract's default)
    class Unlimited(type(CHANNEL)):
        limit_fields = None

    endpoint = WebhookEndpointFactory(owner=user, max_in_flight=1)
    ids = record_webhook_deliveries(project, user, [endpoint] * 4)

    # When a claim is offered them, then it takes every due one
    taken = engine.claim_chunk(Unlimited(), ids)
    assert [d.pk for d in taken.deliveries] == ids
    assert taken.deferred == {}


# Real worker processes: the limits hold across processes, not just inside one.


@pytest.fixture
def counting_receiver():
    # Each path its own endpoint; "slow" and "small" answer after 1 s and 0.3 s.
    delays = {"/slow": 1.0, "/small": 0.3}
    receiver = Receiver().start()
    receiver.handler = lambda request: Reply(delay=delays.get(request.path, 0.0))
    yield receiver
    receiver.stop()


def _finished(ids) -> int:
    return WebhookDelivery.objects.filter(pk__in=ids, status="success").count()


def _alive(*workers) -> None:
    for worker in workers:
        assert worker.proc.poll() is None, f"a worker exited:\n{worker.log()[-3000:]}"


def _deliver_with_two_workers(broker_url, start_worker, ids, per_message: int) -> None:
    """Two worker processes (2 children each) deliver `ids`, handed over in messages of
    `per_message`; returns once every one succeeded."""
    workers = [start_worker(broker_url, concurrency=2) for _ in range(2)]
    for start in range(0, len(ids), per_message):
        enqueue("webhook", ids[start : start + per_message])

    def all_done() -> bool:
        _alive(*workers)
        return _finished(ids) == len(ids)

    wait_until(all_done, timeout=120, interval=0.5, message=f"{len(ids)} deliveries")


@pytest.mark.services
def test_max_in_flight_holds_across_worker_processes(
    tasks_through_redis, celery_worker_process, counting_receiver, user, project
):
    # Given an endpoint allowed 3 requests at once that takes 0.3 s per request, and two
    # worker processes (each with 2 children) handed 60 deliveries in messages of 10
    endpoint = WebhookEndpointFactory(
        owner=user, url=counting_receiver.url_for("/small"), max_in_flight=3
    )
    ids = record_webhook_deliveries(project, user, [endpoint] * 60)

    # When they deliver them all
    _deliver_with_two_workers(tasks_through_redis, celery_worker_process, ids, per_message=10)

    # Then the receiver never had more than 3 of them at once, each arrived once, and no
    # attempt was spent on being held back
    assert counting_receiver.most_in_flight["/small"] <= 3
    assert counting_receiver.most_in_flight["/small"] >= 2  # the test drove it to its limit
    assert len({r.headers["webhook-id"] for r in counting_receiver.requests_to("/small")}) == 60
    attempts = WebhookDelivery.objects.filter(pk__in=ids).values_list("attempt_number", flat=True)
    assert set(attempts) == {1}


@pytest.mark.services
def test_rate_limit_holds_across_worker_processes(
    tasks_through_redis, celery_worker_process, counting_receiver, user, project
):
    # Given an endpoint limited to 4 deliveries per second, and two worker processes
    endpoint = WebhookEndpointFactory(
        owner=user, url=counting_receiver.url_for("/paced"), rate_limit=4
    )
    ids = record_webhook_deliveries(project, user, [endpoint] * 24)

    # When they deliver 24 of them
    _deliver_with_two_workers(tasks_through_redis, celery_worker_process, ids, per_message=6)

    # Then no one-second window at the receiver saw more than twice the rate (the limit is
    # 4, plus a burst of 1 and the jitter between a claim and its request's arrival)
    times = sorted(r.received_at for r in counting_receiver.requests_to("/paced"))
    assert len(times) == 24
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 8


@pytest.mark.services
def test_slow_endpoint_backlog_does_not_hold_up_a_healthy_endpoint(
    tasks_through_redis, celery_worker_process, counting_receiver, user, project
):
    # Given a receiver that takes 1 s per request with 1,000 deliveries queued (default limit:
    # 10 at once), and a healthy endpoint's 20 deliveries queued behind them
    slow = WebhookEndpointFactory(owner=user, url=counting_receiver.url_for("/slow"))
    healthy = WebhookEndpointFactory(owner=user, url=counting_receiver.url_for("/healthy"))
    slow_ids = record_webhook_deliveries(project, user, [slow] * 1000)
    healthy_ids = record_webhook_deliveries(project, user, [healthy] * 20)
    worker = celery_worker_process(tasks_through_redis, concurrency=2)

    # When both are handed to the worker, the slow backlog first
    enqueue("webhook", slow_ids)
    enqueue("webhook", healthy_ids)

    def healthy_done() -> bool:
        _alive(worker)
        return _finished(healthy_ids) == 20

    wait_until(healthy_done, timeout=60, interval=0.2, message="the healthy endpoint's 20")

    # Then every healthy delivery arrived while the slow endpoint still had nearly all of its
    # backlog: before the last healthy one, the slow receiver had seen a few rounds of 10 at
    # most, never more than 10 at once (with no limit: 1,000 sent first, 128 at a time)
    arrivals = [r.path for r in counting_receiver.requests]  # in order of arrival
    last_healthy = max(i for i, path in enumerate(arrivals) if path == "/healthy")
    slow_before = [path for path in arrivals[:last_healthy] if path == "/slow"]
    assert len(slow_before) <= 100
    assert counting_receiver.most_in_flight["/slow"] <= 10
    assert WebhookDelivery.objects.filter(pk__in=slow_ids, status="pending").count() >= 800


@pytest.mark.django_db
def test_prune_drops_paces_that_no_longer_limit(user):
    endpoint = WebhookEndpointFactory(owner=user, rate_limit=5)
    now = timezone.now()
    TargetPace.objects.create(channel="webhook", target_id=endpoint.pk, next_at=now)
    # given: the pace of an endpoint deleted long ago
    TargetPace.objects.create(channel="webhook", target_id=987_654, next_at=now - timedelta(days=2))

    prune_deliveries()

    assert list(TargetPace.objects.values_list("target_id", flat=True)) == [endpoint.pk]
