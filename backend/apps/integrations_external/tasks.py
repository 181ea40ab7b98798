"""Celery discovers `<app>.tasks`: the pipeline's tasks and each provider's live in their own
packages and are imported here."""

from apps.integrations_external.email import tasks as email  # noqa: F401
from apps.integrations_external.github import tasks as github  # noqa: F401
from apps.integrations_external.pipeline.tasks import deliver, prune_deliveries, sweep_deliveries
from apps.integrations_external.slack import tasks as slack  # noqa: F401

__all__ = ["deliver", "prune_deliveries", "sweep_deliveries"]
