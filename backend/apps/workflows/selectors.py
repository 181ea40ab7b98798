from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from apps.projects.selectors import projects_visible_to
from apps.workflows.models import Workflow, WorkflowExecution


def workflows_visible_to(user: AbstractBaseUser) -> QuerySet[Workflow]:
    return Workflow.objects.filter(project__in=projects_visible_to(user)).select_related("project")


def workflow_executions_visible_to(user: AbstractBaseUser) -> QuerySet[WorkflowExecution]:
    return WorkflowExecution.objects.filter(
        workflow__project__in=projects_visible_to(user)
    ).select_related("workflow", "workflow__project")
