"""`LOG_FORMAT=json`: one JSON object per line, with the ids of the work a line belongs to."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from apps.integrations_external.models import Event
from apps.integrations_external.pipeline import events
from apps.integrations_external.pipeline.tasks import deliver, fan_out
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from core.logs import JsonFormatter, log_context
from tests_support.receivers import Reply

BACKEND_DIR = Path(__file__).resolve().parents[2]

LOG_SOME = (
    "import django, logging; django.setup(); log = logging.getLogger('apps.demo');"
    "log.warning('sent %s', 3, extra={'delivery_id': 7});"
    "log.info('second line')\n"
    "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('it broke')"
)


def _run_logging_process(**env: str) -> list[str]:
    """A fresh process configured by the settings alone, as web and workers are."""
    result = subprocess.run(
        [sys.executable, "-c", LOG_SOME],
        cwd=BACKEND_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr.splitlines()


def test_logs_json_format_writes_one_object_per_line():
    lines = _run_logging_process(LOG_FORMAT="json")

    records = [json.loads(line) for line in lines]  # every line parses on its own
    assert [r["message"] for r in records] == ["sent 3", "second line", "it broke"]
    first = records[0]
    assert first["level"] == "WARNING"
    assert first["logger"] == "apps.demo"
    assert first["delivery_id"] == 7
    assert first["time"].endswith("+00:00")
    assert "ZeroDivisionError" in records[2]["exception"]


def test_logs_default_format_stays_human_readable():
    lines = _run_logging_process(LOG_FORMAT="")

    assert lines[0].endswith("WARNING apps.demo: sent 3")
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


@pytest.fixture
def json_lines():
    """Records of the integrations' loggers, formatted as they are emitted (the context is read
    then), as JSON objects."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("apps.integrations_external")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.mark.django_db
def test_logs_fan_out_task_line_has_event_id_and_task(json_lines, user, project):
    WebhookEndpointFactory(owner=user)
    event = Event.objects.create(
        type="workflow.completed", occurred_at=timezone.now(), project=project, actor=user
    )

    fan_out.delay(str(event.pk))  # eager: runs here, through Celery's task signals

    [line] = [r for r in json_lines() if "fanned out" in r["message"]]
    assert line["event_id"] == str(event.pk)
    assert line["task"] == "integrations.fan_out"
    assert line["task_id"]


@pytest.mark.django_db
def test_logs_engine_line_in_delivery_task_has_delivery_ids(json_lines, user, project, receiver):
    receiver.default = Reply(410)  # Gone: the endpoint is disabled, with a warning logged
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    event = Event.objects.create(
        type="workflow.completed", occurred_at=timezone.now(), project=project, actor=user
    )
    ids = events.fan_out(event, {"webhook": [endpoint]}).created["webhook"]
    logger = logging.getLogger("apps.integrations_external.tests")

    with log_context(note="outer"):
        deliver.delay("webhook", ids)
        logger.info("after the task")

    lines = json_lines()
    [disabled] = [r for r in lines if "disabled" in r["message"]]
    assert disabled["delivery_ids"] == ids
    assert disabled["channel_name"] == "webhook"
    assert disabled["task"] == "integrations.deliver"
    assert disabled["note"] == "outer"  # contexts nest
    after = lines[-1]
    assert after["message"] == "after the task"
    assert after["note"] == "outer"
    assert "delivery_ids" not in after  # the task's context ended with it


def test_task_fields_keep_ids_and_channel_only():
    from core.logs import task_fields

    fields = task_fields(deliver, "t-1", ("webhook", [5, 6]), {})

    assert fields == {
        "task": "integrations.deliver",
        "task_id": "t-1",
        "channel_name": "webhook",
        "delivery_ids": [5, 6],
    }
