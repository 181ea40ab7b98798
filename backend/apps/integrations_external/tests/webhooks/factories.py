import factory

from apps.integrations_external.models import WebhookEndpoint
from apps.projects.tests.factories import UserFactory


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Endpoint {n}")
    url = "http://127.0.0.1:9/hook"


def record_webhook_deliveries(project, user, endpoints) -> list[int]:
    """One event's deliveries to `endpoints`, written and nothing enqueued: what a lost broker
    message leaves behind. Returns their ids."""
    from django.utils import timezone

    from apps.integrations_external.models import Event
    from apps.integrations_external.pipeline.events import fan_out

    event = Event.objects.create(
        type="workflow.completed",
        occurred_at=timezone.now(),
        fanned_out_at=timezone.now(),
        project=project,
        actor=user,
    )
    return fan_out(event, {"webhook": endpoints}).created["webhook"]
