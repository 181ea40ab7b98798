"""Celery tasks: thin wrappers that take ids and let the engine re-read and re-check rows."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.integrations_external.pipeline import channels, engine, events
from apps.integrations_external.pipeline.models import FINISHED_STATUSES, Event, TargetPace
from apps.integrations_external.pipeline.scheduling import (
    DELIVER_TASK,
    FAN_OUT_TASK,
    enqueue,
    enqueue_on_commit,
)

logger = logging.getLogger(__name__)


@shared_task(name=DELIVER_TASK, acks_late=True, ignore_result=True)
def deliver(channel_name: str, delivery_ids: list[int]) -> int:
    """Send the given deliveries of one channel, then hand the retries due soon back to the
    broker with a countdown. Safe to run twice: claimed rows only."""
    processed = engine.process(channels.get(channel_name), delivery_ids)
    _requeue(channel_name, processed)
    return processed.done


def _requeue(channel_name: str, processed: engine.Processed) -> None:
    for delay, ids in processed.due.items():
        enqueue_on_commit(channel_name, ids, countdown=delay)


@shared_task(name=FAN_OUT_TASK, acks_late=True, ignore_result=True)
def fan_out(event_id: str) -> int:
    """Create the deliveries of a recorded event, then send the first chunk of its largest
    channel, which the fan-out wrote leased to this task (the rest went to the workers). Safe to run
    twice: the first run marks the event, and a lost run's leased deliveries go back to the
    workers when their lease runs out (the sweeper)."""
    fanned = events.fan_out_event(event_id, lease=True)
    if fanned is None:
        return 0
    for channel_name, token in fanned.leased.items():
        channel = channels.get(channel_name)
        _requeue(channel_name, engine.process_leased(channel, event_id=event_id, token=token))
    return sum(len(ids) for ids in fanned.created.values())


@shared_task(name="integrations.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> dict[str, int]:
    """Re-enqueue every event not yet fanned out and every delivery that is overdue and not in
    flight (lost message, dead worker, or a retry too far ahead for a broker countdown)."""
    found: dict[str, int] = {}
    grace = settings.DELIVERY_SWEEP_INTERVAL_SECONDS
    stale_events = list(
        Event.objects.filter(
            fanned_out_at__isnull=True, created_at__lt=timezone.now() - timedelta(seconds=grace)
        ).values_list("pk", flat=True)[:10_000]
    )
    for event_id in stale_events:
        fan_out.delay(event_id)
    if stale_events:
        found["events"] = len(stale_events)
    for channel in channels.all_channels():
        ids = engine.overdue_ids(channel, grace_seconds=grace)
        if ids:
            enqueue(channel.name, ids)
            found[channel.name] = len(ids)
    if found:
        logger.info("sweeper re-enqueued %s", found)
    return found


# Rows per DELETE transaction (attempts and other cascades come on top). Each batch holds its
# rows' locks until it commits: 2,000 held them up to 2.7 s on a loaded machine (bench/scale.py).
PRUNE_BATCH = 500


def _delete_in_batches(queryset, *, oldest_first: str) -> int:
    """Delete a queryset's rows a batch at a time (and what cascades from them): one huge
    DELETE would hold its locks and its collected rows for the whole table.

    Each batch is read oldest first by `oldest_first`, an indexed time column the queryset is
    bounded on, so the read is a range of that index. Unordered, PostgreSQL scanned the table
    from its start, through every row earlier batches had deleted: each batch slower than the
    last (1.5 s each after a few hundred)."""
    removed = 0
    while True:
        batch = list(queryset.order_by(oldest_first).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            return removed
        # The filter again: a row reopened (redeliver) since the read is no longer taken.
        count, _ = queryset.filter(pk__in=batch).delete()
        removed += count


@shared_task(name="integrations.prune_deliveries", ignore_result=True)
def prune_deliveries() -> int:
    """Delete finished deliveries (and their attempts) older than the retention period, then
    the old events no delivery refers to any more. Open deliveries are never pruned, nor are
    their events: a redelivery made today of a month-old event keeps it."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    # A delivery's own age (the indexed `created_at`), not its event's.
    finished_long_ago = Q(status__in=FINISHED_STATUSES, created_at__lt=cutoff)
    removed = 0
    unreferenced = []
    for channel in channels.all_channels():
        model = channel.delivery_model
        removed += _delete_in_batches(
            model.objects.filter(finished_long_ago), oldest_first="created_at"
        )
        unreferenced.append(~Exists(model.objects.filter(event_id=OuterRef("pk"))))
    # A pace in the past limits nothing (the claim starts from now), so an hour-old one is
    # dropped: this also clears the paces of deleted targets. One small row per target.
    TargetPace.objects.filter(next_at__lt=timezone.now() - timedelta(hours=1)).delete()
    return removed + _delete_in_batches(
        Event.objects.filter(*unreferenced, occurred_at__lt=cutoff), oldest_first="occurred_at"
    )
