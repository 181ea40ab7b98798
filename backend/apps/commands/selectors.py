from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from apps.commands.models import Command, CommandExecution
from apps.projects.selectors import projects_visible_to


def commands_visible_to(user: AbstractBaseUser) -> QuerySet[Command]:
    return Command.objects.filter(project__in=projects_visible_to(user)).select_related("project")


def command_executions_visible_to(user: AbstractBaseUser) -> QuerySet[CommandExecution]:
    return CommandExecution.objects.filter(
        command__project__in=projects_visible_to(user)
    ).select_related("command", "command__project")
