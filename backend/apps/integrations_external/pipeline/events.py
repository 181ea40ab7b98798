"""publish(): record an event and fan it out to every target.

Fan-out (routing + one delivery row per target) happens either in the caller's transaction
(`publish`, for callers that need the deliveries at once: tests sent to one target, summaries,
the custom events API) or in a worker (`fan_out_later=True`, used by the platform's signal
receivers, so a platform action costs one insert however many targets an event has).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.integrations_external.pipeline import channels, compiled, routing, rows
from apps.integrations_external.pipeline.models import DeliveryBase, Event
from apps.integrations_external.pipeline.scheduling import (
    enqueue_fan_out_on_commit,
    enqueue_on_commit,
)

logger = logging.getLogger(__name__)


def _ids_by_event(model: type[DeliveryBase]) -> compiled.Build:
    return lambda v: (
        model.objects.filter(event_id=v["event"]).order_by("pk").values_list("pk", flat=True)
    )


def fan_out(event: Event, plan: dict[str, list]) -> dict[str, list[int]]:
    """Create one delivery per (event, target) in bulk; return the new ids per channel."""
    created: dict[str, list[int]] = {}
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
    for name, targets in plan.items():
        channel = channels.get(name)
        deliveries = []
        for target in targets:
            own = channel.delivery_row(event, target)
            if own is not None:
                deliveries.append({**common, **own})
        if not deliveries:
            continue
        model = channel.delivery_model
        rows.insert_values(model, deliveries)
        # An event fans out once (in its own transaction, or guarded by `fanned_out_at`), so
        # its deliveries in this channel are exactly the rows just written.
        created[name] = compiled.fetch(
            ("fanned-out", name),
            _ids_by_event(model),
            {"event": event.pk},
        )
    return created


def _route_and_fan_out(event: Event, targets: dict[str, list] | None) -> dict[str, list[int]]:
    plan = routing.route(event) if targets is None else targets
    created = fan_out(event, plan)
    for name, ids in created.items():
        enqueue_on_commit(name, ids)
    return created


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
        created = _route_and_fan_out(event, targets)
    logger.info(
        "event %s %s: %s",
        event.id,
        event_type,
        ", ".join(f"{n}={len(i)}" for n, i in created.items()) or "no targets",
    )
    return event


def fan_out_event(event_id: str) -> dict[str, list[int]] | None:
    """Route a recorded event and create its deliveries, once: a second run (a redelivered
    task, the sweeper) finds `fanned_out_at` set and does nothing."""
    with transaction.atomic():
        claimed = Event.objects.filter(pk=event_id, fanned_out_at__isnull=True).update(
            fanned_out_at=timezone.now()
        )
        if not claimed:
            return None
        [event] = compiled.fetch(
            "event-with-project",
            lambda v: Event.objects.select_related("project").filter(pk=v["event"]),
            {"event": event_id},
        )
        created = _route_and_fan_out(event, None)
    logger.info(
        "event %s %s fanned out: %s",
        event.id,
        event.type,
        ", ".join(f"{n}={len(i)}" for n, i in created.items()) or "no targets",
    )
    return created
