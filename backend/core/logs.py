"""Structured logs: `LOG_FORMAT=json` writes one JSON object per record.

Each object carries the time, level, logger and message, the exception if any, every field a
caller passed with `extra=` (e.g. `extra={"delivery_id": 5}`), and the context of the work in
progress: while a Celery task runs, its name and id and its id arguments (`event_id`,
`delivery_ids`, `channel_name`, …), so a line logged deep inside the engine still says which
event and deliveries it was about.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "log_context", default=_EMPTY
)

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def current_context() -> Mapping[str, Any]:
    return _CONTEXT.get()


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every record logged inside the block (nested blocks add up)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: _plain(v) for k, v in current_context().items()})
        entry.update(
            {k: _plain(v) for k, v in vars(record).items() if k not in _STANDARD and k[0] != "_"}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


# --- Celery: the running task's ids as log context -------------------------------------------

# Task arguments worth a field: ids of the rows a task works on, and the channel.
_ID_SUFFIXES = ("_id", "_ids")
_KEPT_NAMES = {"channel_name"}
_TOKENS: dict[str, contextvars.Token] = {}


def task_fields(task: Any, task_id: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    fields: dict[str, Any] = {"task": task.name, "task_id": task_id}
    try:
        bound = inspect.signature(task.run).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return fields
    for name, value in bound.items():
        if name in _KEPT_NAMES or name.endswith(_ID_SUFFIXES):
            fields[name] = value
    return fields


def _on_task_prerun(task_id: str, task: Any, args: tuple = (), kwargs: dict | None = None, **_):
    fields = task_fields(task, task_id, args, kwargs or {})
    _TOKENS[task_id] = _CONTEXT.set({**_CONTEXT.get(), **fields})


def _on_task_postrun(task_id: str, **_: Any) -> None:
    token = _TOKENS.pop(task_id, None)
    if token is not None:
        # Set in another context (thread): nothing of ours to undo here.
        with contextlib.suppress(ValueError):
            _CONTEXT.reset(token)


def connect_celery() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="core.logs.prerun")
    task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="core.logs.postrun")
