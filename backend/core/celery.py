"""The Celery app: configured from Django settings (CELERY_*), tasks discovered per app."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun, worker_process_init
from django.db import close_old_connections, connections

from core.process import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.base")

app = Celery("core")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False, dispatch_uid="core.celery.fresh_connections")
def _fresh_connections(task: Any = None, **_: Any) -> None:
    """A request's connection housekeeping, before each task: a connection past CONN_MAX_AGE or
    after an error is closed, and the others are checked now (CONN_HEALTH_CHECKS), outside any
    transaction, so one a failover killed is replaced before the task's first atomic block meets
    it. Celery's own fix-up would instead close every connection around every task (unless
    CELERY_DB_REUSE_MAX is set: settings)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # in the caller's process and transaction (tests): not the worker's to manage
    close_old_connections()
    for connection in connections.all(initialized_only=True):
        connection.close_if_health_check_failed()


@worker_process_init.connect(weak=False, dispatch_uid="core.celery.freeze_startup_objects")
def _freeze_startup_objects(**_: Any) -> None:
    """In each pool child, once the app is loaded (core/process.py)."""
    freeze_startup_objects()
