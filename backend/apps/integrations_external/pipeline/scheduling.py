"""Handing work to workers: after commit, in batches.

Tasks are named here, not imported (celery's `signature` by name): the tasks module imports
the engine and the events module, which schedule work through this one, so an import would
close a cycle. The names are the tasks' registered names (pipeline/tasks.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from celery import current_app, signature
from django.conf import settings
from django.db import transaction

DELIVER_TASK = "integrations.deliver"
FAN_OUT_TASK = "integrations.fan_out"


def _batches(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def enqueue(channel: str, ids: Sequence[int], countdown: float | None = None) -> None:
    if countdown and current_app.conf.task_always_eager:
        # An eager run cannot wait: it would run now and, depending on a few milliseconds,
        # find the delivery due or not. The sweeper (or the caller) sends it when due.
        return
    for batch in _batches(list(ids), settings.DELIVERY_BATCH_SIZE):
        signature(
            DELIVER_TASK,
            args=(channel, batch),
            countdown=countdown or None,
            argsrepr=args_repr(channel, batch),
        ).apply_async()


def args_repr(channel: str, batch: list[int]) -> str:
    """What logs and monitors show of a delivery task's arguments. Celery's own repr of a
    batch of 100 ids (saferepr, item by item) was a tenth of the publisher's CPU."""
    if len(batch) == 1:
        return f"({channel!r}, [{batch[0]}] (1 id))"
    return f"({channel!r}, [{batch[0]}, …, {batch[-1]}] ({len(batch)} ids))"


def enqueue_due(due: Mapping[str, Mapping[float, Sequence[int]]]) -> None:
    """Enqueue what the engine reported due soon: {channel: {countdown: ids}}."""
    for channel, by_delay in due.items():
        for delay, ids in by_delay.items():
            enqueue(channel, ids, countdown=delay)


def enqueue_on_commit(channel: str, ids: Sequence[int], countdown: float | None = None) -> None:
    """Enqueue once the rows exist for other connections. A lost message is not a lost
    delivery: the sweeper finds any due delivery nobody is working on."""
    if ids:
        transaction.on_commit(lambda: enqueue(channel, ids, countdown), robust=True)


def enqueue_fan_out_on_commit(event_id: str) -> None:
    transaction.on_commit(
        lambda: signature(FAN_OUT_TASK, args=(event_id,)).apply_async(), robust=True
    )
