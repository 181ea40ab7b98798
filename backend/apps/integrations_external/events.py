"""publish(): record an event and fan it out to every target, in the caller's transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.integrations_external import routing
from apps.integrations_external.delivery import channels
from apps.integrations_external.delivery.scheduling import enqueue_on_commit
from apps.integrations_external.models import Event

logger = logging.getLogger(__name__)


def fan_out(event: Event, plan: dict[str, list]) -> dict[str, list[int]]:
    """Create one delivery per (event, target) in bulk; return the new ids per channel."""
    created: dict[str, list[int]] = {}
    for name, targets in plan.items():
        channel = channels.get(name)
        deliveries = [d for d in (channel.build_delivery(event, t) for t in targets) if d is not None]
        if not deliveries:
            continue
        now = timezone.now()
        for delivery in deliveries:
            delivery.next_attempt_at = now
        model = channel.delivery_model
        model.objects.bulk_create(deliveries, batch_size=500, ignore_conflicts=False)
        if deliveries[0].pk is None:  # backends without RETURNING: read the ids back
            ids = list(model.objects.filter(event=event).values_list("pk", flat=True))
        else:
            ids = [d.pk for d in deliveries]
        created[name] = ids
    return created


def publish(
    event_type: str,
    data: dict[str, Any],
    *,
    project=None,
    actor: AbstractBaseUser | None = None,
    targets: dict[str, list] | None = None,
) -> Event:
    """Record `event_type` and schedule its deliveries after commit.

    `targets` bypasses routing (a test message to one endpoint, a summary to one person).
    Must not do network I/O: it runs inside the platform's request.
    """
    with transaction.atomic():
        event = Event.objects.create(
            type=event_type,
            occurred_at=timezone.now(),
            project=project,
            actor=actor if actor is not None and actor.is_authenticated else None,
            data=data,
        )
        plan = routing.route(event) if targets is None else targets
        created = fan_out(event, plan)
        for name, ids in created.items():
            enqueue_on_commit(name, ids)
    logger.info(
        "event %s %s: %s",
        event.id,
        event_type,
        ", ".join(f"{n}={len(i)}" for n, i in created.items()) or "no targets",
    )
    return event
