"""Per-target limits, enforced where deliveries are claimed: at most `max_in_flight` deliveries
of one target leased at once, and at most `per_second` claimed per second, however many
workers and processes claim (the channel names its targets' limit fields: `limit_fields`).

Why in the claim (the database) and not in a worker: a semaphore in a process holds for that
process alone, and a platform runs several. The claim of a limited channel therefore runs in
one transaction that
  1. reads which of the offered deliveries are due, their targets and those targets' limits
     (one statement, pipeline/lease_sql.py);
  2. takes a per-target lock (PostgreSQL: transaction-scoped advisory locks, in target order,
     so two claims never deadlock; SQLite: the IMMEDIATE transaction already holds the
     database's write lock), so two workers cannot both take a target's last free slots;
  3. counts each limited target's deliveries holding a live lease (a partial index on
     leased rows keeps that count to the rows in flight, whatever the history's size);
  4. leases as many as each target has room for and, for rate-limited targets, moves their
     pace on (`TargetPace`, a GCRA "theoretical arrival time" per target);
  5. makes the rest due a little later (`next_attempt_at`, no attempt spent, no attempt row)
     and hands them back to the caller, which returns them to the broker with a countdown.
Advisory locks rather than `SELECT … FOR UPDATE` on the target rows: recording results updates
those rows' counters, several statements per transaction in no fixed order, and would deadlock
with a claim holding them in id order.
"""

from __future__ import annotations

import math
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.integrations_external.pipeline import lease_sql
from apps.integrations_external.pipeline.channels import Channel
from apps.integrations_external.pipeline.models import DeliveryBase, TargetPace
from apps.integrations_external.pipeline.rows import int_array

# A target whose slots are all taken: the first `max_in_flight` held back come back after this,
# the rest of its backlog together, later (one second per further `max_in_flight`, at most
# FULL_RETRY_MAX_SECONDS). Two messages per target and claim, whatever the backlog: splitting
# it finer multiplied the messages, and a backlog of 1,000 kept the workers busy re-claiming.
FULL_RETRY_SECONDS = 1.0
FULL_RETRY_MAX_SECONDS = 30.0
# A rate-limited target may take this many seconds' worth of its rate at once (at least one
# delivery): any one-second window then sees at most rate × 1.1 (+1) deliveries claimed.
RATE_BURST_SECONDS = 0.1
# Never hand a delivery back sooner than this (a countdown of 0 would spin).
MIN_DEFER_SECONDS = 0.05


@dataclass(frozen=True)
class TargetLimit:
    """How hard one target may be driven, enforced by the engine's claim across every worker
    and process: at most `max_in_flight` of its deliveries leased at once, and at most
    `per_second` claimed per second (None: no such limit)."""

    max_in_flight: int | None = None
    per_second: float | None = None


@dataclass
class Claimed:
    deliveries: list[DeliveryBase] = field(default_factory=list)
    # Due again later because their target was at its limit: {countdown seconds: ids}.
    deferred: dict[float, list[int]] = field(default_factory=dict)


def _limit(most: int | None, rate: float | None) -> TargetLimit | None:
    return TargetLimit(max_in_flight=most, per_second=rate) if most is not None or rate else None


def _countdown(delay: float) -> float:
    # Rounded up (a countdown that fires early finds nothing due), coarser when far off so a
    # backlog goes back as a few messages, not one per delivery.
    delay = max(delay, MIN_DEFER_SECONDS)
    # (The 1e-9: 0.6000000000000001 s is 0.6 s, not 0.7.)
    return math.ceil(delay * 10 - 1e-9) / 10 if delay < 2 else float(math.ceil(delay - 1e-9))


def _lock_key(channel_name: str, target_id: int) -> int:
    # One bigint key space shared with any other advisory lock user: the channel's hash in
    # the high bits keeps channels (and most strangers) apart.
    return ((zlib.crc32(channel_name.encode()) & 0x7FFFFF) << 40) | (target_id & (2**40 - 1))


def lock_targets(channel_name: str, target_ids: Iterable[int]) -> None:
    """Serialise claims per target until the transaction ends."""
    if connection.vendor != "postgresql":
        return  # SQLite's IMMEDIATE transactions hold the whole database's write lock
    keys = sorted({_lock_key(channel_name, t) for t in target_ids})
    with connection.cursor() as cursor:
        # The ORDER BY inside the subquery fixes the order the locks are taken in.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM"
            " (SELECT unnest(%s::bigint[]) AS k ORDER BY k) AS ordered",
            [int_array(keys)],
        )


def _paced(
    limit: TargetLimit, pace: datetime | None, wanted: int, now: datetime
) -> tuple[int, datetime, float]:
    """GCRA: how many of `wanted` the rate lets through now, the target's new pace, and how
    long after now the first one held back may go (each next one an interval later)."""
    assert limit.per_second
    interval = 1 / limit.per_second
    burst = max(1, math.floor(limit.per_second * RATE_BURST_SECONDS))
    horizon = now + timedelta(seconds=(burst - 1) * interval)
    tat = max(pace or now, now)
    taken = 0
    while taken < wanted and tat <= horizon:
        tat += timedelta(seconds=interval)
        taken += 1
    first_wait = (tat - horizon).total_seconds()
    return taken, tat, first_wait


def _share(
    limit: TargetLimit, wanted: int, busy: int, pace: datetime | None, now: datetime
) -> tuple[int, datetime | None, list[float]]:
    """One target's share of a claim: how many of its `wanted` due deliveries to lease, its
    new pace (None: unchanged), and the delay before each held-back one is offered again."""
    room = wanted
    if limit.max_in_flight is not None:
        room = max(0, min(room, limit.max_in_flight - busy))
    # Held back by the target's slots (not only by its rate): wait for one to free.
    full = room < wanted
    first_wait = interval = 0.0
    tat = None
    if limit.per_second:
        room, tat, first_wait = _paced(limit, pace, room, now)
        interval = 1 / limit.per_second
        if not room:
            tat = None
    slots = limit.max_in_flight or 1
    held = wanted - room
    rest_wait = min(
        FULL_RETRY_SECONDS * (1 + math.ceil((held - slots) / slots)), FULL_RETRY_MAX_SECONDS
    )
    delays = []
    for rank in range(held):
        delay = first_wait + rank * interval
        if full:
            delay = max(delay, FULL_RETRY_SECONDS if rank < slots else rest_wait)
        delays.append(delay)
    return room, tat, delays


def _shares(
    channel: Channel, wanted: Mapping[int, int], limits: Mapping[int, TargetLimit], now: datetime
) -> tuple[dict[int, tuple[int, list[float]]], list[TargetPace]]:
    """Each target's share of its `wanted` deliveries (`_share`: how many to lease, the delay
    of each held back; a target without limits takes all), and the rate-limited targets' new
    paces. Run with the targets locked (`lock_targets`)."""
    busy, paces = _state(channel, limits, now)
    shares: dict[int, tuple[int, list[float]]] = {}
    new_paces: list[TargetPace] = []
    for target_id, count in wanted.items():
        limit = limits.get(target_id)
        if limit is None:
            shares[target_id] = (count, [])
            continue
        room, tat, delays = _share(limit, count, busy.get(target_id, 0), paces.get(target_id), now)
        shares[target_id] = (room, delays)
        if tat is not None:
            new_paces.append(TargetPace(channel=channel.name, target_id=target_id, next_at=tat))
    return shares, new_paces


def _state(
    channel: Channel, limits: Mapping[int, TargetLimit], now: datetime
) -> tuple[dict[int, int], dict[int, datetime]]:
    """The limited targets' deliveries in flight, and the rate-limited ones' paces."""
    counted = [t for t, limit in limits.items() if limit.max_in_flight is not None]
    rated = [t for t, limit in limits.items() if limit.per_second]
    busy = lease_sql.leases_by_target(channel.delivery_model, counted, now)
    paces: dict[int, datetime] = {}
    if rated:
        rows = TargetPace.objects.filter(channel=channel.name, target_id__in=rated)
        paces = dict(rows.values_list("target_id", "next_at"))
    return busy, paces


def _write(
    channel: Channel,
    admitted: list[int],
    later: Mapping[float, list[int]],
    paces: list[TargetPace],
    *,
    lease: tuple[datetime, str],
    now: datetime,
) -> lease_sql.Rows:
    """The claim's writes: the leases, the held-back deliveries' new due time, the paces.
    Returns the leased rows."""
    model = channel.delivery_model
    lease_until, token = lease
    leased = lease_sql.lease(model, admitted, now, lease_until, token)
    for countdown, pks in later.items():
        # Not attempted: no attempt spent, no attempt row; due again when the countdown brings
        # them back (or for the sweeper, if that message is lost).
        lease_sql.postpone(model, pks, now, now + timedelta(seconds=countdown))
    _save_paces(paces)
    return leased


def _save_paces(paces: list[TargetPace]) -> None:
    if paces:
        TargetPace.objects.bulk_create(
            paces,
            update_conflicts=True,
            unique_fields=["channel", "target_id"],
            update_fields=["next_at"],
        )


def claim_limited(channel: Channel, ids: list[int], lease_until: datetime) -> Claimed:
    """Lease the due deliveries among `ids` that their targets have room for (see the module's
    docstring); the rest are made due later and returned as `deferred`."""
    model = channel.delivery_model
    fields = channel.limit_fields
    assert fields, f"channel {channel.name} has no limit fields"
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = Claimed()
    with transaction.atomic():
        candidates = lease_sql.due_with_limits(model, ids, now, fields)
        if not candidates:
            return claimed
        queues: dict[int, list[int]] = defaultdict(list)
        limits: dict[int, TargetLimit] = {}
        for pk, target_id, most, rate in candidates:
            queues[target_id].append(pk)
            limit = _limit(most, rate)
            if limit is not None:
                limits[target_id] = limit
        lock_targets(channel.name, queues)
        shares, new_paces = _shares(channel, {t: len(q) for t, q in queues.items()}, limits, now)
        admitted: list[int] = []
        later: dict[float, list[int]] = defaultdict(list)
        for target_id, queue in queues.items():
            room, delays = shares[target_id]
            admitted.extend(queue[:room])
            for pk, delay in zip(queue[room:], delays, strict=True):
                later[_countdown(delay)].append(pk)
        rows = _write(channel, admitted, later, new_paces, lease=(lease_until, token), now=now)
    claimed.deferred = dict(later)
    # Built after the commit: the targets' locks (and SQLite's write lock) are not held for it.
    claimed.deliveries = lease_sql.leased_deliveries(model, rows, channel.target_fields)
    return claimed


def admit_new(channel: Channel, target_ids: Sequence[int], now: datetime) -> set[int]:
    """Of targets each about to get one new delivery (a fan-out), those with room to take it
    leased at once: what `claim_limited` would admit, decided before the rows exist, so the
    fan-out can write them leased instead of writing them and then leasing them. Call it in
    the transaction that inserts the deliveries: the targets' locks (and on SQLite the write
    lock) are held until they are written, and the rate-limited targets' paces move on here."""
    if not channel.limit_fields:
        return set(target_ids)
    limits: dict[int, TargetLimit] = {}
    for target_id, most, rate in lease_sql.target_limits(
        channel.delivery_model, target_ids, channel.limit_fields
    ):
        limit = _limit(most, rate)
        if limit is not None:
            limits[target_id] = limit
    lock_targets(channel.name, limits)
    shares, new_paces = _shares(channel, dict.fromkeys(target_ids, 1), limits, now)
    _save_paces(new_paces)
    return {target_id for target_id, (room, _) in shares.items() if room}
