import factory

from apps.projects.tests.factories import ProjectFactory
from apps.workflows.models import Workflow, WorkflowExecution


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    created_by = factory.SelfAttribute("project.owner")


class WorkflowExecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowExecution

    workflow = factory.SubFactory(WorkflowFactory)
    status = WorkflowExecution.Status.RUNNING
    started_at = factory.Faker("date_time_this_month", tzinfo=__import__("datetime").UTC)
    triggered_by = factory.SelfAttribute("workflow.project.owner")
