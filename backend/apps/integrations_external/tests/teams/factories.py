import factory

from apps.integrations_external.teams.models import TeamsIntegration
from apps.projects.tests.factories import ProjectFactory, UserFactory


class TeamsIntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamsIntegration

    owner = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory, owner=factory.SelfAttribute("..owner"))
    channel_name = "Builds"
    webhook_url = "https://example.invalid/workflows/abc/triggers/manual/paths/invoke?sig=x"
