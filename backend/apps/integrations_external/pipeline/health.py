"""Health of chat targets (Slack, Teams): a permanent refusal of the target itself marks it
unhealthy with its reason, routing then skips it, and a message that gets through (a test
included, which is sent even to an unhealthy target) makes it healthy again.

For a target model with `is_active`, `is_healthy`, `health_reason`, `health_changed_at` and
`last_message_at`; the channel passes its model, so the pipeline still knows no provider."""

from __future__ import annotations

import logging
from typing import Any

from django.db import models
from django.utils import timezone

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.channels import Outcome, Results, SendResult

logger = logging.getLogger(__name__)


def refusal(target: Any, event_type: str) -> SendResult | None:
    """Why not to send to `target` now (switched off, unhealthy), or None."""
    if catalog.category_of(event_type) == catalog.TEST:
        return None  # a test may go to an unhealthy integration: that is how it is checked
    if not target.is_active:
        return SendResult(Outcome.FAILED, error="not sent: the integration is switched off")
    if not target.is_healthy:
        return SendResult(
            Outcome.FAILED,
            error=f"not sent: the integration is unhealthy: {target.health_reason}",
        )
    return None


def mark_unhealthy(model: type[models.Model], target_id: int, reason: str) -> None:
    now = timezone.now()
    manager = model._default_manager
    changed = manager.filter(pk=target_id, is_healthy=True).update(
        is_healthy=False, health_reason=reason, health_changed_at=now
    )
    if not changed:
        manager.filter(pk=target_id).update(health_reason=reason)
    else:
        logger.warning("%s %s marked unhealthy: %s", model.__name__, target_id, reason)


def mark_delivered(model: type[models.Model], target_ids: list[int]) -> None:
    """A message went through: the target works (whatever it said before)."""
    if not target_ids:
        return
    now = timezone.now()
    manager = model._default_manager
    manager.filter(pk__in=target_ids).update(last_message_at=now)
    restored = manager.filter(pk__in=target_ids, is_healthy=False).update(
        is_healthy=True, health_reason="", health_changed_at=now
    )
    if restored:
        logger.info("%s %s healthy again", model.__name__, target_ids)


def record(model: type[models.Model], results: Results) -> None:
    """A channel's `after_results`: each target's last word wins (a broken target beats a
    delivered one in the same batch)."""
    problems: dict[int, str] = {}
    delivered: set[int] = set()
    for delivery, result in results:
        target_id = delivery.target_id
        if result.target_problem:
            problems[target_id] = result.target_problem
        elif result.outcome == Outcome.SUCCESS:
            delivered.add(target_id)
    mark_delivered(model, sorted(delivered - problems.keys()))
    for target_id, reason in problems.items():
        mark_unhealthy(model, target_id, reason)
