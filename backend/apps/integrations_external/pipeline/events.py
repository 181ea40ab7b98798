"""publish(): record an event and fan it out to every target.

Fan-out (routing + one delivery row per target) happens either in the caller's transaction
(`publish`, for callers that need the deliveries at once: tests sent to one target, summaries,
the custom events API) or in a worker (`fan_out_later=True`, used by the platform's signal
receivers, so a platform action costs one insert however many targets an event has).

The worker's fan-out writes the first chunk of its largest channel (what one claim would take,
to the targets with room under their limits) already leased to itself, and sends it once it commits:
a delivery written and then leased was two writes of one row, the second rewriting its indexes
(docs/delivery.md, "The fan-out sends its first chunk").
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.integrations_external.pipeline import channels, compiled, engine, limits, routing, rows
from apps.integrations_external.pipeline.models import DeliveryBase, Event
from apps.integrations_external.pipeline.scheduling import (
    enqueue_fan_out_on_commit,
    enqueue_on_commit,
)

logger = logging.getLogger(__name__)


def _ids_and_tokens(model: type[DeliveryBase]) -> compiled.Build:
    return lambda v: (
        model.objects.filter(event_id=v["event"]).order_by("pk").values_list("pk", "lease_token")
    )


@dataclass
class FanOut:
    """What a fan-out created, per channel: every new delivery's id, the ids left for the
    workers (queued after commit), and the lease token of those written already leased for
    the caller to send (`fan_out(lease=True)`; `engine.process_leased`)."""

    created: dict[str, list[int]] = field(default_factory=dict)
    queued: dict[str, list[int]] = field(default_factory=dict)
    leased: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return ", ".join(f"{n}={len(i)}" for n, i in self.created.items()) or "no targets"


def _lease_first_chunk(
    channel: channels.Channel, deliveries: list[dict[str, Any]], now: datetime
) -> str:
    """Write the first chunk of `deliveries` (what one claim would take) leased, to the
    targets with room for one more now; return the lease's token ("" if none was)."""
    model = channel.delivery_model
    link: Any = model._meta.get_field(model.target_field)
    target = link.attname
    chunk = deliveries[: engine.chunk_size(channel)]
    admitted = limits.admit_new(channel, [row[target] for row in chunk], now)
    if not admitted:
        return ""
    token = uuid.uuid4().hex
    until = engine.lease_until(now)
    for row in chunk:
        if row[target] in admitted:
            row.update(locked_until=until, lease_token=token)
    return token


def _lease_size(channel: channels.Channel, deliveries: list[dict[str, Any]]) -> tuple[int, int]:
    """How many of a channel's new deliveries its leased chunk would hold, then (on a tie) how
    many its transport sends at once: the channel `fan_out(lease=True)` leases is the largest."""
    return min(len(deliveries), engine.chunk_size(channel)), channel.concurrency


def fan_out(event: Event, plan: dict[str, list], *, lease: bool = False) -> FanOut:
    """Create one delivery per (event, target) in bulk. With `lease`, the first chunk of the
    channel with the largest one (`_lease_size`) is written leased to the caller, who sends it
    once this transaction commits (the same worker, no claim: one UPDATE per delivery less);
    the rest are for the workers. One channel only: a lease starts when its rows are written,
    and a second channel's chunk would spend its lease waiting for the first one's sends."""
    fanned = FanOut()
    # Every delivery of the event carries the same envelope: one object, so the insert
    # prepares (JSON-dumps) it once per channel rather than once per row.
    envelope = event.envelope()
    now = timezone.now()
    common = {
        "event_id": event.pk,
        "event_type": event.type,
        "payload": envelope,
        "next_attempt_at": now,
    }
    by_channel: dict[str, tuple[channels.Channel, list[dict[str, Any]]]] = {}
    for name, targets in plan.items():
        channel = channels.get(name)
        deliveries = []
        for target in targets:
            own = channel.delivery_row(event, target)
            if own is not None:
                deliveries.append({**common, **own})
        if deliveries:
            by_channel[name] = (channel, deliveries)
    leasing = None
    if lease and by_channel:
        leasing = max(by_channel, key=lambda n: _lease_size(*by_channel[n]))
    for name, (channel, deliveries) in by_channel.items():
        token = _lease_first_chunk(channel, deliveries, now) if name == leasing else ""
        model = channel.delivery_model
        rows.insert_values(model, deliveries)
        # An event fans out once (in its own transaction, or guarded by `fanned_out_at`), so
        # its deliveries in this channel are exactly the rows just written.
        written = compiled.fetch(("fanned-out", name), _ids_and_tokens(model), {"event": event.pk})
        fanned.created[name] = [pk for pk, _ in written]
        fanned.queued[name] = [pk for pk, leased_to in written if not leased_to]
        if token:
            fanned.leased[name] = token
    return fanned


def _route_and_fan_out(
    event: Event, targets: dict[str, list] | None, *, lease: bool = False
) -> FanOut:
    plan = routing.route(event) if targets is None else targets
    fanned = fan_out(event, plan, lease=lease)
    for name, ids in fanned.queued.items():
        enqueue_on_commit(name, ids)
    return fanned


def publish(
    event_type: str,
    data: dict[str, Any],
    *,
    project=None,
    actor: User | None = None,
    targets: dict[str, list] | None = None,
    fan_out_later: bool = False,
) -> Event:
    """Record `event_type` and schedule its deliveries after commit.

    `targets` bypasses routing (a test message to one endpoint, a summary to one person).
    `fan_out_later` leaves routing and the delivery rows to a worker (`fan_out_event`).
    Never does network I/O: it runs inside the platform's request.
    """
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            type=event_type,
            occurred_at=now,
            project=project,
            actor=actor if actor is not None and actor.is_authenticated else None,
            data=data,
            fanned_out_at=None if fan_out_later and targets is None else now,
        )
        if event.fanned_out_at is None:
            enqueue_fan_out_on_commit(event.id)
            logger.info("event %s %s recorded; fan-out queued", event.id, event_type)
            return event
        fanned = _route_and_fan_out(event, targets)
    logger.info("event %s %s: %s", event.id, event_type, fanned.summary())
    return event


def fan_out_event(event_id: str, *, lease: bool = False) -> FanOut | None:
    """Route a recorded event and create its deliveries, once: a second run (a redelivered
    task, the sweeper) finds `fanned_out_at` set and does nothing. `lease`: see `fan_out`."""
    found = compiled.fetch(
        "event-with-project",
        lambda v: Event.objects.select_related("project").filter(pk=v["event"]),
        {"event": event_id},
    )
    if not found or found[0].fanned_out_at is not None:
        return None
    [event] = found
    # Routed before the transaction, which only claims the event and writes its rows: routing
    # reads (and creates missing settings rows, idempotently), and on SQLite a transaction
    # holds the database's one write lock from its start, keeping every other writer waiting.
    plan = routing.route(event)
    with transaction.atomic():
        claimed = Event.objects.filter(pk=event_id, fanned_out_at__isnull=True).update(
            fanned_out_at=timezone.now()
        )
        if not claimed:
            return None
        fanned = _route_and_fan_out(event, plan, lease=lease)
    logger.info("event %s %s fanned out: %s", event.id, event.type, fanned.summary())
    return fanned
