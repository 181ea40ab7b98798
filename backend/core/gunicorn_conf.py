"""Gunicorn hooks (Procfile: `--config python:core.gunicorn_conf`); every other setting stays on
the command line.

prometheus-client's multiprocess mode wants the master to tell it when a worker exits, so that
worker's live gauges stop counting. The folder itself is emptied before the whole deployment
starts (`make run`), not here: Celery's processes write into it too, and may start first.
"""

from __future__ import annotations

from typing import Any

from core import env as _env
from core.process import freeze_startup_objects


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_env.metrics_dir()))


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the application (core/process.py)."""
    freeze_startup_objects()
