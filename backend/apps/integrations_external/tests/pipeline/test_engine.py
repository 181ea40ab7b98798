"""The engine with the real webhook transport and a real receiver on loopback (eager Celery:
retries are driven by moving the clock to when they are due and calling `deliver`)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.integrations_external.models import Event, WebhookDelivery, WebhookEndpoint
from apps.integrations_external.pipeline import channels, engine
from apps.integrations_external.pipeline.channels import Outcome, SendResult
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver, prune_deliveries, sweep_deliveries
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.tests.webhooks.helpers import run_when_due
from apps.integrations_external.webhooks.channel import WebhookChannel
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def _chosen_wait(delivery: WebhookDelivery) -> float:
    """Seconds between the attempt just recorded and the retry the engine set for it (both are
    stamped with the same `now`)."""
    delivery.refresh_from_db()
    return (delivery.next_attempt_at - delivery.updated_at).total_seconds()


def test_deliver_exhausted_retries_fail_keeping_every_attempt(
    user, project, receiver, settings, run_on_commit, time_machine
):
    # given: a receiver that always fails
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5.0
    receiver.default = Reply(500, b"boom")
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=2)

    with run_on_commit():
        publish("workflow.completed", {}, project=project, actor=user)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    # when: each retry runs once it is due (the clock moves there; a run just before sends nothing)
    assert 4 <= _chosen_wait(delivery) <= 6  # 5 s ± 20 %
    run_when_due(delivery, time_machine)
    assert 16 <= _chosen_wait(delivery) <= 24  # 20 s ± 20 %
    run_when_due(delivery, time_machine)

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempt_number == 3
    assert "retries exhausted" in delivery.error_message
    assert [a.outcome for a in delivery.attempt_history()] == ["retry", "retry", "failed"]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    endpoint.refresh_from_db()
    assert (endpoint.success_count, endpoint.failure_count) == (0, 3)
    deliver("webhook", [delivery.pk])  # a late duplicate message changes nothing
    assert len(receiver.requests) == 3


def test_deliver_429_retry_after_sets_next_attempt(user, project, receiver, settings):
    settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS = 3600
    receiver.script = [Reply(429, headers={"Retry-After": "120"})]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    [pk] = record_webhook_deliveries(project, user, [endpoint])

    before = timezone.now()
    deliver("webhook", [pk])

    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "retrying"
    waited = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= waited <= 122


def test_process_defer_reschedules_without_an_attempt(user, project):
    class Pacing:  # e.g. Slack's one message per second per channel
        def send(self, delivery):
            return SendResult(Outcome.DEFER, retry_after=30)

    class PacingChannel(WebhookChannel):
        def transport(self):
            return self._shared(Pacing)

    channel = PacingChannel()
    endpoint = WebhookEndpointFactory(owner=user)
    [pk] = record_webhook_deliveries(project, user, [endpoint])

    assert engine.process(channel, [pk]).done == 1

    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == "pending"
    assert delivery.attempt_number == 0
    assert len(delivery.attempt_history()) == 0
    assert delivery.locked_until is None
    assert 25 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 31
    assert engine.process(channel, [pk]).done == 0  # not due yet: nobody takes it


def test_claim_holds_lease_until_it_ends(user, project, settings):
    # then: a second claim gets nothing until the lease ends
    settings.DELIVERY_LEASE_SECONDS = 60
    channel = channels.get("webhook")
    [pk] = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)])

    assert [d.pk for d in engine.claim(channel, [pk])] == [pk]
    assert engine.claim(channel, [pk]) == []
    assert engine.overdue_ids(channel, grace_seconds=0) == []

    WebhookDelivery.objects.filter(pk=pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert engine.overdue_ids(channel, grace_seconds=0) == [pk]


def test_sweep_delivers_deliveries_nobody_enqueued(user, project, receiver, settings):
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 0
    endpoints = [WebhookEndpointFactory(owner=user, url=receiver.url) for _ in range(3)]
    ids = record_webhook_deliveries(project, user, endpoints)

    found = sweep_deliveries()  # eager: the re-enqueued task runs right here

    assert found == {"webhook": 3}
    assert len(receiver.wait_for(3)) == 3
    assert set(WebhookDelivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "success"
    }
    assert sweep_deliveries() == {}


def test_sweep_leaves_recently_due_to_their_message(user, project, settings):
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 300
    record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)])

    assert sweep_deliveries() == {}


def test_prune_removes_finished_past_retention_only(user, project, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    endpoint = WebhookEndpointFactory(owner=user)
    old_done, old_open, recent_done = record_webhook_deliveries(project, user, [endpoint] * 3)
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(pk__in=[old_done, recent_done]).update(status="success")
    WebhookDelivery.objects.filter(pk__in=[old_done, old_open]).update(created_at=long_ago)

    prune_deliveries()

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {old_open, recent_done}


def test_prune_keeps_old_event_redelivered_today(user, project, settings):
    # then: the open delivery and its event stay
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    endpoint = WebhookEndpointFactory(owner=user)
    long_ago = timezone.now() - timedelta(days=31)
    (old_done,) = record_webhook_deliveries(project, user, [endpoint])
    event_id = WebhookDelivery.objects.get(pk=old_done).event_id
    Event.objects.filter(pk=event_id).update(occurred_at=long_ago, created_at=long_ago)
    WebhookDelivery.objects.filter(pk=old_done).update(
        status="failed", created_at=long_ago, completed_at=long_ago
    )
    resent_open, resent_done = record_webhook_deliveries(project, user, [endpoint, endpoint])
    WebhookDelivery.objects.filter(pk__in=[resent_open, resent_done]).update(event_id=event_id)
    WebhookDelivery.objects.filter(pk=resent_done).update(
        status="success", completed_at=timezone.now()
    )

    prune_deliveries()

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {resent_open, resent_done}
    assert Event.objects.filter(pk=event_id).exists()


def test_prune_removes_old_event_with_old_deliveries(user, project, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    endpoint = WebhookEndpointFactory(owner=user)
    long_ago = timezone.now() - timedelta(days=31)
    ids = record_webhook_deliveries(project, user, [endpoint, endpoint])
    event_id = WebhookDelivery.objects.get(pk=ids[0]).event_id
    Event.objects.filter(pk=event_id).update(occurred_at=long_ago)
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status="success", created_at=long_ago, completed_at=long_ago
    )

    prune_deliveries()

    assert not WebhookDelivery.objects.filter(pk__in=ids).exists()
    assert not Event.objects.filter(pk=event_id).exists()


def test_process_racing_workers_send_each_once(require_postgres, transactional_db, receiver):
    from apps.projects.tests.factories import ProjectFactory

    project = ProjectFactory()
    endpoints = [WebhookEndpointFactory(owner=project.owner, url=receiver.url) for _ in range(40)]
    ids = record_webhook_deliveries(project, project.owner, endpoints)
    channel = channels.get("webhook")
    barrier = threading.Barrier(2)
    done = []

    def work():
        barrier.wait()
        try:
            done.append(engine.process(channel, ids).done)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sum(done) == 40
    assert len(receiver.requests) == 40
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 40
    assert WebhookDelivery.objects.filter(status="success").count() == 40


def test_record_concurrent_results_keep_counters_exact(
    require_postgres, transactional_db, receiver
):
    # given: concurrent results for one endpoint
    from apps.projects.tests.factories import ProjectFactory

    project = ProjectFactory()
    # Room for all 40 at once: this is about the counters, not the concurrency limit.
    endpoint = WebhookEndpointFactory(owner=project.owner, url=receiver.url, max_in_flight=40)
    batches = [record_webhook_deliveries(project, project.owner, [endpoint] * 10) for _ in range(4)]
    channel = channels.get("webhook")

    def work(ids):
        try:
            engine.process(channel, ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(ids,)) for ids in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    unsent = list(
        WebhookDelivery.objects.exclude(status="success").values_list("status", "error_message")
    )
    assert endpoint.success_count == 40, unsent
    assert endpoint.failure_count == 0
    assert endpoint.last_triggered_at is not None
