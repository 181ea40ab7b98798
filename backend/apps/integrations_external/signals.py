"""Receivers of the platform's domain signals: record the event, schedule its fan-out.

They run after the platform's transaction committed (core apps send on commit) and never do
network I/O; any failure is logged by the sender and never reaches the platform action. The one
exception is project_access_lost, received inside the transaction that removed someone.
"""

from __future__ import annotations

from apps.integrations_external import catalog
from apps.integrations_external.events import publish


def on_workflow_execution_completed(sender, execution, actor=None, **kwargs) -> None:
    from apps.workflows.models import WorkflowExecution

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
    from apps.integrations_external.services.access import integrations_stop_for_lost_access

    integrations_stop_for_lost_access(project=project, user_ids=user_ids)


def connect() -> None:
    from apps.alerts.signals import system_alert_raised
    from apps.commands.signals import command_execution_finished
    from apps.projects.signals import project_access_lost, project_updated, user_story_created
    from apps.workflows.signals import workflow_execution_finished

    uid = "integrations_external"
    workflow_execution_finished.connect(on_workflow_execution_completed, dispatch_uid=f"{uid}.wf")
    command_execution_finished.connect(on_command_execution_completed, dispatch_uid=f"{uid}.cmd")
    project_updated.connect(on_project_updated, dispatch_uid=f"{uid}.project")
    user_story_created.connect(on_user_story_created, dispatch_uid=f"{uid}.story")
    project_access_lost.connect(on_project_access_lost, dispatch_uid=f"{uid}.access_lost")
    system_alert_raised.connect(on_system_alert_raised, dispatch_uid=f"{uid}.alert")
