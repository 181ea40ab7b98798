"""Celery discovers `<app>.tasks`; each channel's tasks live in a module of their own."""

from apps.integrations_external.tasks.delivery import deliver, prune_deliveries, sweep_deliveries

from apps.integrations_external.tasks import email, github, slack  # noqa: E402,F401,I001

__all__ = ["deliver", "prune_deliveries", "sweep_deliveries"]
