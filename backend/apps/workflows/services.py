"""Workflow execution state machine: pending/running → completed | failed | cancelled."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.workflows import signals
from apps.workflows.models import Workflow, WorkflowExecution
from core.api.exceptions import InvalidTransition
from core.signals import send_on_commit

Status = WorkflowExecution.Status


@transaction.atomic
def workflow_execute(*, workflow: Workflow, actor: AbstractBaseUser | None) -> WorkflowExecution:
    if not workflow.is_active:
        raise InvalidTransition("This workflow is inactive; activate it before executing it.")
    return WorkflowExecution.objects.create(
        workflow=workflow, status=Status.RUNNING, triggered_by=actor, started_at=timezone.now()
    )


def _finish(
    execution: WorkflowExecution, status: str, actor: AbstractBaseUser | None, **fields: Any
) -> WorkflowExecution:
    # Lock the row: two concurrent "complete" calls must not both succeed and signal twice.
    locked = WorkflowExecution.objects.select_for_update().get(pk=execution.pk)
    if locked.is_finished:
        raise InvalidTransition(
            f"This execution is already {locked.status}; it cannot become {status}."
        )
    now = timezone.now()
    locked.status = status
    locked.completed_at = now
    locked.duration = now - (locked.started_at or locked.created_at)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save()
    if status in (Status.COMPLETED, Status.FAILED):
        send_on_commit(
            signals.workflow_execution_finished,
            sender=WorkflowExecution,
            execution=locked,
            actor=actor,
        )
    return locked


@transaction.atomic
def workflow_execution_complete(
    *, execution: WorkflowExecution, actor: AbstractBaseUser | None, result: Any = None
) -> WorkflowExecution:
    return _finish(execution, Status.COMPLETED, actor, result=result)


@transaction.atomic
def workflow_execution_fail(
    *, execution: WorkflowExecution, actor: AbstractBaseUser | None, error_message: str = ""
) -> WorkflowExecution:
    return _finish(execution, Status.FAILED, actor, error_message=error_message)


@transaction.atomic
def workflow_execution_cancel(
    *, execution: WorkflowExecution, actor: AbstractBaseUser | None
) -> WorkflowExecution:
    return _finish(execution, Status.CANCELLED, actor)
