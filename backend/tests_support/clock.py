"""Drive a retry when it is due by moving the clock (time-machine's `time_machine` fixture)
instead of sleeping: Celery is eager in tests, so the test plays the broker's countdown."""

from __future__ import annotations

from datetime import timedelta

from time_machine import TimeMachineFixture

from apps.integrations_external.pipeline.models import DeliveryBase
from apps.integrations_external.pipeline.tasks import deliver


def deliver_when_due(channel: str, delivery: DeliveryBase, clock: TimeMachineFixture) -> None:
    """Run `delivery`'s next attempt at the moment it is due. A run a millisecond before claims
    nothing, so the wait the engine chose is checked, not only waited out."""
    delivery.refresh_from_db()
    if delivery.next_attempt_at is not None:
        clock.move_to(delivery.next_attempt_at - timedelta(milliseconds=1), tick=False)
        assert deliver(channel, [delivery.pk]) == 0, "claimed before it was due"
        clock.move_to(delivery.next_attempt_at, tick=True)
    assert deliver(channel, [delivery.pk]) == 1
    delivery.refresh_from_db()
