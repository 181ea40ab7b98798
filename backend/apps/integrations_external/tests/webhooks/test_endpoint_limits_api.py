"""An endpoint's concurrency and rate limits in the API, its schema and the portal's form."""

import pytest

from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import API
from apps.integrations_external.webhooks.forms import WebhookEndpointForm

pytestmark = pytest.mark.django_db


def test_endpoint_limits_default_to_10_in_flight_and_no_rate(auth_client):
    resp = auth_client.post(f"{API}/webhooks/", {"url": "http://127.0.0.1:9/hook"}, format="json")

    assert resp.status_code == 201, resp.content
    assert resp.json()["max_in_flight"] == 10
    assert resp.json()["rate_limit"] is None


def test_endpoint_limits_are_settable(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)
    url = f"{API}/webhooks/{endpoint.pk}/"

    resp = auth_client.patch(url, {"max_in_flight": 3, "rate_limit": 50}, format="json")
    assert resp.status_code == 200, resp.content
    cleared = auth_client.patch(url, {"rate_limit": None}, format="json")

    endpoint.refresh_from_db()
    assert (endpoint.max_in_flight, endpoint.rate_limit) == (3, None)
    assert cleared.json()["rate_limit"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_in_flight", 0), ("max_in_flight", 101), ("rate_limit", 0), ("rate_limit", 10_001)],
)
def test_endpoint_limits_out_of_range_are_400(auth_client, user, field, value):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.patch(f"{API}/webhooks/{endpoint.pk}/", {field: value}, format="json")

    assert resp.status_code == 400
    assert field in str(resp.json())
    endpoint.refresh_from_db()
    assert (endpoint.max_in_flight, endpoint.rate_limit) == (10, None)


def test_endpoint_limits_in_the_schema(api_client):
    resp = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    fields = resp.json()["components"]["schemas"]["WebhookEndpoint"]["properties"]
    assert fields["max_in_flight"]["minimum"] == 1
    assert fields["max_in_flight"]["maximum"] == 100
    assert "in flight" in fields["max_in_flight"]["description"]
    assert fields["rate_limit"]["nullable"] is True
    assert "per second" in fields["rate_limit"]["description"]


def test_endpoint_form_carries_the_limits_to_the_api(user):
    endpoint = WebhookEndpointFactory(owner=user, max_in_flight=4, rate_limit=7)
    form = WebhookEndpointForm(
        data={
            "url": "https://example.com/hook",
            "method": "POST",
            "retry_count": 8,
            "timeout_seconds": 10,
            "max_in_flight": 5,
            "rate_limit": "",
        },
        instance=endpoint,
    )

    assert WebhookEndpointForm(instance=endpoint).initial["max_in_flight"] == 4
    assert form.is_valid(), form.errors
    body = form.api_data(project_pk=0)
    assert (body["max_in_flight"], body["rate_limit"]) == (5, None)
