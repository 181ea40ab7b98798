"""Example envelopes of the catalog's event types, for the events page.

Built by the catalog's real payload builders from unsaved model instances, so an example cannot
drift from what is sent: when a builder changes, its example changes with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model

from apps.alerts.models import SystemAlert
from apps.commands.models import Command, CommandExecution
from apps.integrations_external import catalog
from apps.integrations_external.pipeline.models import Event
from apps.projects.models import Project, UserStory
from apps.workflows.models import Workflow, WorkflowExecution

EXAMPLE_TIME = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def _objects() -> dict[str, Any]:
    alice = get_user_model()(pk=7, username="alice")
    project = Project(pk=3, name="Checkout service", description="Payments", owner=alice)
    workflow = Workflow(pk=12, name="Nightly build", project=project)
    started = EXAMPLE_TIME - timedelta(seconds=95)
    execution = WorkflowExecution(
        pk=481,
        workflow=workflow,
        status="completed",
        triggered_by=alice,
        started_at=started,
        completed_at=EXAMPLE_TIME,
        duration=timedelta(seconds=95),
        result={"artifacts": 3},
    )
    failed = WorkflowExecution(
        pk=482,
        workflow=workflow,
        status="failed",
        triggered_by=alice,
        started_at=started,
        completed_at=EXAMPLE_TIME,
        duration=timedelta(seconds=95),
        error_message="Step 'test' exited with 1",
    )
    command = Command(pk=5, name="Migrate", command_line="./manage.py migrate", project=project)
    command_run = CommandExecution(
        pk=90,
        command=command,
        status="completed",
        exit_code=0,
        output="Applying payments.0042... OK\n",
        started_at=started,
        completed_at=EXAMPLE_TIME,
        duration=timedelta(seconds=95),
        executed_by=alice,
    )
    story = UserStory(pk=42, project=project, title="Pay with a saved card", created_by=alice)
    alert = SystemAlert(
        pk=17,
        severity="warning",
        title="Queue backlog",
        message="Deliveries are waiting longer than 5 minutes.",
        source="monitoring",
        created_at=EXAMPLE_TIME,
    )
    return {
        "workflow.completed": catalog.workflow_execution_data(execution, "failed"),
        "workflow.failed": catalog.workflow_execution_data(failed, "completed"),
        "command.executed": catalog.command_execution_data(command_run),
        "project.updated": catalog.project_updated_data(project, ["description"]),
        "user_story.created": catalog.user_story_data(story),
        "system.alert": catalog.system_alert_data(alert),
        "webhook.test": {
            "message": "This is a test event.",
            "endpoint": {"id": 1, "name": "Builds"},
        },
        # mirror.publish_merged builds this one from its database rows: its shape, by hand.
        "github.pull_request.merged": {
            "project": catalog.project_data(project),
            "repository": "acme/checkout",
            "pull_request": {
                "number": 128,
                "title": "US-42 Pay with a saved card",
                "html_url": "https://github.com/acme/checkout/pull/128",
                "author": "alice",
                "head_ref": "us-42-saved-card",
                "base_ref": "main",
                "merged_at": "2026-01-15T09:30:00Z",
            },
            "user_stories": [{"id": 42, "key": "US-42", "title": "Pay with a saved card"}],
        },
    }


def example_envelopes() -> dict[str, dict[str, Any]]:
    """{event type: the envelope a webhook receives} for the types webhooks can subscribe to
    (the personal email types never leave as webhooks)."""
    examples = {}
    for name, data in _objects().items():
        event = Event(id="evt_2mK8Qx1Zr5bT0aYcJ3nLpW7f", type=name, occurred_at=EXAMPLE_TIME)
        event.data = data
        examples[name] = event.envelope()
    return examples
