"""Celery discovers `<app>.tasks`; each channel's tasks live in a module of their own."""

from apps.integrations_external.tasks import email, github, slack  # noqa: F401
from apps.integrations_external.tasks.delivery import deliver, prune_deliveries, sweep_deliveries

__all__ = ["deliver", "prune_deliveries", "sweep_deliveries"]
