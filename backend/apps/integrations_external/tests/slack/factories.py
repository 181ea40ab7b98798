import factory

from apps.integrations_external.models import SlackIntegration
from apps.projects.tests.factories import UserFactory

BOT_TOKEN = "xoxb-1111-2222-secretTOKENvalue"


class SlackIntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlackIntegration

    owner = factory.SubFactory(UserFactory)
    workspace_name = "Acme"
    channel_id = "C0BUILDS01"
    channel_name = "builds"
    bot_token = BOT_TOKEN
