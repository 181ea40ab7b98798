"""Handing deliveries to workers: after commit, in batches."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction


def _batches(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def enqueue(channel: str, ids: list[int], countdown: float | None = None) -> None:
    from apps.integrations_external.pipeline.tasks import deliver

    if countdown and deliver.app.conf.task_always_eager:
        # An eager run cannot wait: it would run now and, depending on a few milliseconds,
        # find the delivery due or not. The sweeper (or the caller) sends it when due.
        return
    for batch in _batches(list(ids), settings.DELIVERY_BATCH_SIZE):
        if countdown:
            deliver.apply_async(args=(channel, batch), countdown=countdown)
        else:
            deliver.delay(channel, batch)


def enqueue_on_commit(channel: str, ids: list[int], countdown: float | None = None) -> None:
    """Enqueue once the rows exist for other connections. A lost message is not a lost
    delivery: the sweeper finds any due delivery nobody is working on."""
    if ids:
        transaction.on_commit(lambda: enqueue(channel, ids, countdown), robust=True)
