import factory

from apps.commands.models import Command, CommandExecution
from apps.projects.tests.factories import ProjectFactory


class CommandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Command

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Command {n}")
    command_line = "make test"
    created_by = factory.SelfAttribute("project.owner")


class CommandExecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommandExecution

    command = factory.SubFactory(CommandFactory)
    status = CommandExecution.Status.RUNNING
    executed_by = factory.SelfAttribute("command.project.owner")
