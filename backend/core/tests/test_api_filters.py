"""Integer query filters refuse numbers their column cannot hold with a 400, on every list."""

import django_filters
import pytest

from apps.integrations_external.models import Event
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.workflows.tests.factories import WorkflowFactory
from core.api.filters import FilterBackend, FilterSet

pytestmark = pytest.mark.django_db

HUB = "/api/v1/integrations-external"


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        (f"{HUB}/events/", "project", "99999999999999999999999"),
        (f"{HUB}/events/", "project", "-99999999999999999999999"),
        (f"{HUB}/webhook-deliveries/", "endpoint", "-6.9e192"),
        (f"{HUB}/webhook-deliveries/", "endpoint", "1e30"),
        (f"{HUB}/webhook-deliveries/", "endpoint", "9223372036854775808"),
        (f"{HUB}/webhook-deliveries/", "endpoint", "1.5"),
        ("/api/v1/workflows/", "project", "99999999999999999999999"),
        ("/api/v1/projects/", "owner", "-99999999999999999999999"),
    ],
)
def test_filter_integer_out_of_range_is_400_naming_it(auth_client, path, name, value):
    resp = auth_client.get(path, {name: value})

    assert resp.status_code == 400, resp.content
    assert name in resp.json()


def test_filter_endpoint_deliveries_out_of_range_is_400(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.get(f"{HUB}/webhooks/{endpoint.pk}/deliveries/", {"endpoint": "1e30"})

    assert resp.status_code == 400
    assert "endpoint" in resp.json()


def test_filter_integer_in_range_filters(auth_client, project):
    workflow = WorkflowFactory(project=project)

    assert auth_client.get(f"{HUB}/events/", {"project": 2**63 - 1}).json()["count"] == 0
    resp = auth_client.get("/api/v1/workflows/", {"project": project.pk})
    assert [w["id"] for w in resp.json()["results"]] == [workflow.pk]
    assert auth_client.get(f"{HUB}/webhook-deliveries/", {"endpoint": "7"}).status_code == 200


def test_filter_backend_range_checks_a_plain_django_filterset():
    # given: a view naming a plain django-filter FilterSet
    class PlainEventFilter(django_filters.FilterSet):
        project = django_filters.NumberFilter(field_name="project_id")

        class Meta:
            model = Event
            fields = ["project"]

    class View:
        filterset_class = PlainEventFilter

    checked = FilterBackend().get_filterset_class(View(), Event.objects.all())
    filterset = checked({"project": "1e30"}, queryset=Event.objects.all())

    assert issubclass(checked, FilterSet)
    assert not filterset.is_valid()
    assert "project" in filterset.errors


@pytest.mark.parametrize(
    ("since", "status"),
    [("0751-05-18T02:54:57-23:13", 200), ("0001-01-01T00:00:00+05:00", 400)],
)
def test_filter_datetime_with_any_offset_is_compared_in_utc(auth_client, since, status):
    # PostgreSQL refuses offsets past ±15:59 (a 500 before); year 1 at +05:00 is before year 1.
    resp = auth_client.get("/api/v1/integrations-external/events/", {"since": since})

    assert resp.status_code == status
