"""The delivery engine: one state machine for every channel.

    pending ──claim──▶ in flight (lease) ──send──▶ success
                                           ├─────▶ retrying (next_attempt_at: back-off)
                                           └─────▶ failed (permanent, or retries exhausted)

A delivery is claimed with one conditional UPDATE that sets a lease (`locked_until`,
`lease_token`), so two workers never send the same delivery at once, and a worker that dies
mid-send only delays it until the lease runs out and the sweeper hands it out again
(at-least-once, with the same idempotency key).
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from apps.integrations_external.pipeline import backoff, lease_sql, limits, metrics, rows
from apps.integrations_external.pipeline.channels import (
    BatchTransport,
    Channel,
    Outcome,
    Results,
    SendResult,
)
from apps.integrations_external.pipeline.models import OPEN_STATUSES, DeliveryBase, DeliveryStatus

logger = logging.getLogger(__name__)

RESPONSE_BODY_LIMIT = 8 * 1024
# Retries due sooner than this go straight back to the broker with a countdown; later ones
# wait for the sweeper, so the broker never holds hours-long timers.
COUNTDOWN_HORIZON_SECONDS = 120


# Deliveries to hand back to the broker: {countdown in seconds: ids}.
DueSoon = dict[float, list[int]]


@dataclass
class Processed:
    """What one `process` call did: how many deliveries it attempted, and which of them retry
    soon enough for a broker countdown (the caller enqueues those: the engine never does)."""

    done: int = 0
    due: DueSoon = field(default_factory=dict)


def due_q(now: datetime) -> Q:
    return (
        Q(status__in=OPEN_STATUSES)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    )


def claim(channel: Channel, ids: Iterable[int]) -> list[DeliveryBase]:
    """Take the lease on those of `ids` that are due and free; return them (others are skipped:
    done already, not yet due, or in another worker's hands)."""
    return claim_chunk(channel, ids).deliveries


def lease_until(now: datetime) -> datetime:
    """When a lease taken `now` runs out (a claim's, or a fan-out's written-leased chunk)."""
    return now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


def claim_chunk(channel: Channel, ids: Iterable[int]) -> limits.Claimed:
    """`claim`, and for a channel whose targets have limits (pipeline/limits.py) the deliveries
    held back because their target was at its limit, made due later, by countdown."""
    ids = list(ids)
    now = timezone.now()
    until = lease_until(now)
    if channel.limit_fields:
        return limits.claim_limited(channel, ids, until)
    model = channel.delivery_model
    token = uuid.uuid4().hex
    rows = lease_sql.lease(model, ids, now, until, token)
    return limits.Claimed(lease_sql.leased_deliveries(model, rows, channel.target_fields))


def _clip(text: str, limit: int = RESPONSE_BODY_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit]


def _send_one(channel: Channel, delivery: DeliveryBase) -> SendResult:
    started = time.perf_counter()
    try:
        result = channel.transport().send(delivery)
    except Exception as exc:  # a bug in a transport must not leave the delivery in flight
        logger.exception("transport %s crashed on delivery %s", channel.name, delivery.pk)
        result = SendResult(Outcome.RETRY, error=f"internal error: {type(exc).__name__}: {exc}")
    if result.duration_ms is None:
        object.__setattr__(result, "duration_ms", int((time.perf_counter() - started) * 1000))
    return result


def _send_in_pool(channel: Channel, delivery: DeliveryBase) -> SendResult:
    # Pool threads outlive Celery's per-task connection clean-up: a transport that reads rows
    # (email) closes its thread's connection, so none goes stale or stays held between tasks.
    try:
        return _send_one(channel, delivery)
    finally:
        connections.close_all()


_POOLS: dict[str, ThreadPoolExecutor] = {}
# A pool made before a fork has no threads in the child, where its sends would wait forever:
# each child starts with none and makes its own.
os.register_at_fork(after_in_child=_POOLS.clear)


def _pool(channel: Channel) -> ThreadPoolExecutor:
    """One long-lived thread pool per channel and process (created in the worker child, after
    the fork): starting threads for every batch cost more than sending it."""
    pool = _POOLS.get(channel.name)
    if pool is None:
        pool = _POOLS[channel.name] = ThreadPoolExecutor(
            max_workers=channel.concurrency, thread_name_prefix=f"deliver-{channel.name}"
        )
    return pool


def _send_batch(
    transport: BatchTransport, channel: Channel, deliveries: list[DeliveryBase]
) -> list[SendResult]:
    try:
        return transport.send_many(deliveries)
    except Exception as exc:  # as in _send_one: a crash must not leave the batch in flight
        logger.exception("transport %s crashed on a batch of %d", channel.name, len(deliveries))
        error = f"internal error: {type(exc).__name__}: {exc}"
        return [SendResult(Outcome.RETRY, error=error, duration_ms=0) for _ in deliveries]


def send_all(channel: Channel, deliveries: list[DeliveryBase]) -> Results:
    """Send a claimed chunk: all at once through a transport that sends batches itself
    (webhooks), else in the channel's thread pool, or one by one."""
    transport = channel.transport()
    if isinstance(transport, BatchTransport):
        results = _send_batch(transport, channel, deliveries)
    elif channel.concurrency > 1 and len(deliveries) > 1:
        results = list(_pool(channel).map(lambda d: _send_in_pool(channel, d), deliveries))
    else:
        results = [_send_one(channel, d) for d in deliveries]
    return list(zip(deliveries, results, strict=True))


def _apply(
    channel: Channel, delivery: DeliveryBase, result: SendResult, now: datetime
) -> float | None:
    """Move `delivery` to its next state in memory; return the retry delay if it will retry."""
    delivery.locked_until = None
    delivery.lease_token = ""
    if result.outcome == Outcome.DEFER:
        delay = max(result.retry_after or 1.0, 0.05)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        return delay
    delivery.attempt_number += 1
    delivery.response_status = result.response_status
    delivery.response_body = _clip(result.response_body or "")
    delivery.error_message = result.error
    delivery.duration_ms = result.duration_ms
    for name, value in result.delivery_fields.items():
        setattr(delivery, name, value)
    if result.outcome == Outcome.SUCCESS:
        delivery.status = DeliveryStatus.SUCCESS
        delivery.completed_at = now
        delivery.next_attempt_at = None
        return None
    retries_used = delivery.attempt_number - 1
    if result.outcome == Outcome.RETRY and retries_used < channel.max_retries(delivery):
        delay = backoff.honour_retry_after(
            result.retry_after, backoff.retry_delay(retries_used + 1)
        )
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        return delay
    delivery.status = DeliveryStatus.FAILED
    delivery.completed_at = now
    delivery.next_attempt_at = None
    if result.outcome == Outcome.RETRY:
        delivery.error_message = (result.error + " (retries exhausted)").strip()
    return None


_UPDATED_FIELDS = [
    "status",
    "attempt_number",
    "next_attempt_at",
    "locked_until",
    "lease_token",
    "response_status",
    "response_body",
    "error_message",
    "duration_ms",
    "completed_at",
    "updated_at",
]


def _has_field(model: type[Any], name: str) -> bool:
    return any(f.name == name for f in model._meta.concrete_fields)


def record(channel: Channel, results: Results) -> DueSoon:
    """Store the outcome of a batch of attempts: deliveries, attempt history, target health.
    Returns the retries due within the countdown horizon, for the caller to enqueue."""
    if not results:
        return {}
    model = channel.delivery_model
    attempt_model: Any = model.attempt_model()
    # Attempt rows as plain values (rows.insert_values): building a model instance per
    # attempt was a tenth of a recorded batch's CPU.
    attempt_headers = _has_field(attempt_model, "request_headers")
    # The latest request's headers also go on the delivery's row, where a success is kept.
    with_headers = _has_field(model, "request_headers")
    now = timezone.now()
    attempts: list[dict[str, Any]] = []
    retry_soon: DueSoon = {}
    extra_fields: set[str] = {"request_headers"} if with_headers else set()
    for delivery, result in results:
        delay = _apply(channel, delivery, result, now)
        extra_fields.update(result.delivery_fields)
        delivery.updated_at = now
        if with_headers and result.outcome != Outcome.DEFER:
            delivery.request_headers = result.request_headers
        # A success stays on the delivery's row alone (attempt_history adds it back): one row
        # write less for nearly every delivery.
        if result.outcome not in (Outcome.DEFER, Outcome.SUCCESS):
            attempt = {
                "delivery_id": delivery.pk,
                "attempt_number": delivery.attempt_number,
                "started_at": now - timedelta(milliseconds=result.duration_ms or 0),
                "duration_ms": result.duration_ms,
                "outcome": result.outcome if delivery.status != DeliveryStatus.FAILED else "failed",
                "response_status": result.response_status,
                "response_body": delivery.response_body,
                "error_message": result.error,
            }
            if attempt_headers:
                attempt["request_headers"] = result.request_headers
            attempts.append(attempt)
        if delay is not None and delay <= COUNTDOWN_HORIZON_SECONDS:
            # Rounded up: a countdown that fires before the delivery is due finds nothing to
            # claim, and the delivery would wait for the sweeper.
            retry_soon.setdefault(math.ceil(delay * 10) / 10, []).append(delivery.pk)
    with transaction.atomic():
        rows.update_rows(model, [d for d, _ in results], _UPDATED_FIELDS + sorted(extra_fields))
        rows.insert_values(attempt_model, attempts)
        channel.after_results(results)
    metrics.record_results(channel.name, results)
    return retry_soon


# No transport waits longer than this for one attempt (webhook timeouts are 1–30 s).
ATTEMPT_SECONDS_CEILING = 30


def chunk_size(channel: Channel) -> int:
    """How many deliveries one claim takes: as many rounds of `concurrency` parallel sends as
    fit twice in the lease, so a chunk of hanging receivers still finishes before its lease
    runs out (else the sweeper would hand them out again while they are in flight)."""
    rounds = max(1, int(settings.DELIVERY_LEASE_SECONDS // (2 * ATTEMPT_SECONDS_CEILING)))
    return max(channel.concurrency, 1) * rounds


def process(channel: Channel, ids: Iterable[int]) -> Processed:
    """Claim, send and record the given deliveries; safe to call twice with the same ids."""
    ids = list(ids)
    processed = Processed()
    chunk = chunk_size(channel)
    for start in range(0, len(ids), chunk):
        taken = claim_chunk(channel, ids[start : start + chunk])
        # Held back by their target's limits: back to the broker, behind other work, rather
        # than retried here (a slow target's backlog must not hold up this worker).
        for delay, deferred_ids in taken.deferred.items():
            processed.due.setdefault(delay, []).extend(deferred_ids)
        claimed = taken.deliveries
        if claimed:
            for delay, due_ids in record(channel, send_all(channel, claimed)).items():
                processed.due.setdefault(delay, []).extend(due_ids)
            processed.done += len(claimed)
    return processed


def process_leased(channel: Channel, *, event_id: str, token: str) -> Processed:
    """Send and record the deliveries of `event_id` that its fan-out wrote already leased to
    `token` (events.fan_out with `lease=True`): the claim without its statements, since the
    fan-out decided their targets' room when it wrote them. Safe to call twice: a second call
    finds them recorded (their lease cleared) and does nothing."""
    model = channel.delivery_model
    rows = lease_sql.leased_to(model, event_id, token, timezone.now())
    deliveries = lease_sql.leased_deliveries(model, rows, channel.target_fields)
    if not deliveries:
        return Processed()
    return Processed(done=len(deliveries), due=record(channel, send_all(channel, deliveries)))


def overdue_ids(channel: Channel, grace_seconds: float, limit: int = 10_000) -> list[int]:
    """Deliveries due for a while that nobody is working on: their message was lost, their
    worker died, or their retry was left to the sweeper.

    In no particular order (the table's, roughly oldest first): ordering by `next_attempt_at`
    made PostgreSQL fetch and sort every open delivery before the first `limit`, since no index
    reads `status IN (…)` in that order (174 ms with 100,000 overdue; bench/scale.py). Every
    overdue delivery is found by a later sweep if not by this one."""
    now = timezone.now()
    return list(
        channel.delivery_model.objects.filter(
            due_q(now)
            & (
                Q(next_attempt_at__isnull=True)
                | Q(next_attempt_at__lte=now - timedelta(seconds=grace_seconds))
            )
        )
        .order_by()
        .values_list("pk", flat=True)[:limit]
    )


def reopen(delivery: DeliveryBase) -> None:
    """Make a finished delivery due again (used by redeliver/recover). A success, kept only on
    the row that its next attempt will overwrite, is stored as an attempt row first."""
    if delivery.status == DeliveryStatus.SUCCESS:
        attempt_model: Any = delivery.attempt_model()
        attempt_model.objects.create(delivery=delivery, **delivery.success_attempt_values())
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.completed_at = None
    delivery.locked_until = None
    delivery.lease_token = ""
