"""Receivers of the platform's domain signals: record the event, schedule its fan-out.

The transactional outbox: they are connected `in_transaction`, so the Event row is written in
the platform action's own transaction and commits or rolls back with the change; only the
fan-out task is queued, after commit (the sweeper re-enqueues it if that message is lost, or if
the process dies between the commit and its after-commit hooks). They never do network I/O.
The payload is built here, from the state the action is about to commit. project_access_lost
is a plain signal, also received inside the transaction that removed someone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.alerts.signals import system_alert_raised
from apps.commands.signals import command_execution_finished
from apps.integrations_external import catalog
from apps.integrations_external.access import integrations_stop_for_lost_access
from apps.integrations_external.pipeline.events import publish
from apps.projects.signals import project_access_lost, project_updated, user_story_created
from apps.workflows.models import WorkflowExecution
from apps.workflows.signals import workflow_execution_finished


def on_workflow_execution_completed(sender, execution, actor=None, **kwargs) -> None:
    previous = (
        WorkflowExecution.objects.filter(
            workflow_id=execution.workflow_id,
            status__in=[WorkflowExecution.Status.COMPLETED, WorkflowExecution.Status.FAILED],
            completed_at__lt=execution.completed_at,
        )
        .exclude(pk=execution.pk)
        .order_by("-completed_at")
        .values_list("status", flat=True)
        .first()
    )
    event_type = "workflow.completed" if execution.status == "completed" else "workflow.failed"
    publish(
        event_type,
        catalog.workflow_execution_data(execution, previous),
        project=execution.workflow.project,
        actor=actor,
        fan_out_later=True,
    )


def on_command_execution_completed(sender, execution, actor=None, **kwargs) -> None:
    publish(
        "command.executed",
        catalog.command_execution_data(execution),
        project=execution.command.project,
        actor=actor,
        fan_out_later=True,
    )


def on_project_updated(sender, project, changed_fields, actor=None, **kwargs) -> None:
    publish(
        "project.updated",
        catalog.project_updated_data(project, changed_fields),
        project=project,
        actor=actor,
        fan_out_later=True,
    )


def on_user_story_created(sender, story, actor=None, **kwargs) -> None:
    publish(
        "user_story.created",
        catalog.user_story_data(story),
        project=story.project,
        actor=actor,
        fan_out_later=True,
    )


def on_system_alert_raised(sender, alert, actor=None, **kwargs) -> None:
    publish("system.alert", catalog.system_alert_data(alert), actor=actor, fan_out_later=True)


def on_project_access_lost(sender, project, user_ids, actor=None, **kwargs) -> None:
    # Sent inside the transaction that removed them: their integrations stop with it.
    integrations_stop_for_lost_access(project=project, user_ids=user_ids)


def connect() -> None:
    uid = "integrations_external"
    receivers: list[tuple[Any, Callable[..., None], str]] = [
        (workflow_execution_finished, on_workflow_execution_completed, "wf"),
        (command_execution_finished, on_command_execution_completed, "cmd"),
        (project_updated, on_project_updated, "project"),
        (user_story_created, on_user_story_created, "story"),
        (system_alert_raised, on_system_alert_raised, "alert"),
    ]
    for signal, receiver, name in receivers:
        signal.in_transaction.connect(receiver, dispatch_uid=f"{uid}.{name}")
    project_access_lost.connect(on_project_access_lost, dispatch_uid=f"{uid}.access_lost")
