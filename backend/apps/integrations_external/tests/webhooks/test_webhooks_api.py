"""The endpoints API: create/read/update/delete, validation, ownership, secrecy."""

import base64

import pytest
from django.utils import timezone

from apps.integrations_external.models import WebhookEndpoint
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import API
from apps.integrations_external.webhooks.services import WebhookService
from apps.projects.tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def create(client, **fields):
    return client.post(
        f"{API}/webhooks/", {"url": "http://127.0.0.1:9/hook", **fields}, format="json"
    )


def test_webhooks_api_create_generates_secret_shown_once(auth_client, user):
    resp = create(auth_client, name="CI")

    assert resp.status_code == 201, resp.data
    secret = resp.data["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) >= 24
    endpoint = WebhookEndpoint.objects.get(pk=resp.data["id"])
    assert endpoint.owner == user
    assert endpoint.secret == secret
    assert resp.data["secret_hint"] == f"whsec_…{secret[-4:]}"


def test_webhooks_api_create_keeps_own_secret(auth_client):
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()

    resp = create(auth_client, secret=secret)

    assert resp.status_code == 201
    assert WebhookEndpoint.objects.get(pk=resp.data["id"]).secret == secret


def test_webhooks_api_read_never_shows_secret(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)
    endpoint.previous_secret = "whsec_" + base64.b64encode(b"p" * 24).decode()
    endpoint.save()
    WebhookService(endpoint).queue_test()  # so deliveries lists have a row
    secret_b64 = endpoint.secret[6:]

    for path in [
        f"{API}/webhooks/",
        f"{API}/webhooks/{endpoint.pk}/",
        f"{API}/webhooks/{endpoint.pk}/deliveries/",
        f"{API}/webhook-deliveries/",
    ]:
        resp = auth_client.get(path)
        assert resp.status_code == 200, path
        body = resp.content.decode()
        assert secret_b64 not in body, path
        assert endpoint.previous_secret[6:] not in body, path
        assert '"secret":' not in body, path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "ftp://example.com/x"),
        ("url", "javascript:alert(1)"),
        ("url", "http:///nohost"),
        ("url", "not a url"),
        ("method", "GET"),
        ("method", "DELETE"),
        ("headers", ["X-A", "1"]),
        ("headers", {"X-A": 1}),
        ("headers", {"X-A": {"nested": "x"}}),
        ("headers", {"Content-Type": "text/plain"}),
        ("headers", {"user-agent": "me"}),
        ("headers", {"Webhook-Signature": "v1,x"}),
        ("headers", {"webhook-anything": "x"}),
        ("headers", {"Host": "evil"}),
        ("headers", {"Content-Length": "3"}),
        ("headers", {"bad name": "x"}),
        ("headers", {"X-A": "line\r\nInjected: 1"}),
        ("retry_count", -1),
        ("retry_count", 16),
        ("timeout_seconds", 0),
        ("timeout_seconds", 31),
        ("custom_events", "order.shipped"),
        ("custom_events", ["Order.Shipped"]),
        ("custom_events", ["workflow.completed"]),
        ("custom_events", ["noscope"]),
        ("custom_events", [1]),
        ("secret", "not-whsec"),
        ("secret", "whsec_!!!notbase64"),
        ("secret", "whsec_" + base64.b64encode(b"short").decode()),
    ],
)
def test_webhooks_api_create_bad_field_400_names_it(auth_client, field, value):
    resp = create(auth_client, **{field: value})

    assert resp.status_code == 400
    assert field in resp.data, resp.data
    assert not WebhookEndpoint.objects.exists()


def test_webhooks_api_create_in_others_project_400(auth_client, other_user):
    resp = create(auth_client, project=ProjectFactory(owner=other_user).pk)

    assert resp.status_code == 400
    assert "project" in resp.data


def test_webhooks_api_create_in_visible_project(auth_client, project):
    resp = create(
        auth_client,
        project=project.pk,
        method="PUT",
        headers={"X-Team": "ops"},
        retry_count=0,
        timeout_seconds=30,
        custom_events=["deploy.finished", "*", "deploy.finished"],
    )

    assert resp.status_code == 201, resp.data
    endpoint = WebhookEndpoint.objects.get(pk=resp.data["id"])
    assert (endpoint.project, endpoint.method, endpoint.headers) == (
        project,
        "PUT",
        {"X-Team": "ops"},
    )
    assert endpoint.custom_events == ["deploy.finished", "*"]


def test_webhooks_api_put_and_patch_update(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)
    url = f"{API}/webhooks/{endpoint.pk}/"

    put = auth_client.put(
        url, {"url": "https://127.0.0.1:8443/x", "name": "new", "method": "PATCH"}, format="json"
    )
    patch = auth_client.patch(url, {"timeout_seconds": 3}, format="json")

    assert put.status_code == 200
    assert patch.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.name, endpoint.method, endpoint.timeout_seconds) == (
        "https://127.0.0.1:8443/x",
        "new",
        "PATCH",
        3,
    )
    assert "secret" not in put.data
    assert "secret" not in patch.data


def test_webhooks_api_patch_secret_400_points_to_rotate(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)
    new = "whsec_" + base64.b64encode(b"n" * 24).decode()

    resp = auth_client.patch(f"{API}/webhooks/{endpoint.pk}/", {"secret": new}, format="json")

    assert resp.status_code == 400
    assert "rotate-secret" in str(resp.data["secret"])


def test_webhooks_api_patch_bad_field_400(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.patch(f"{API}/webhooks/{endpoint.pk}/", {"retry_count": 99}, format="json")

    assert resp.status_code == 400
    assert "retry_count" in resp.data


def test_webhooks_api_patch_active_clears_health(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="broken",
        consecutive_failures=15,
        failing_since=timezone.now(),
    )

    resp = auth_client.patch(f"{API}/webhooks/{endpoint.pk}/", {"is_active": True}, format="json")

    assert resp.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.disabled_at is None
    assert endpoint.disabled_reason == ""
    assert endpoint.consecutive_failures == 0
    assert endpoint.failing_since is None


def test_webhooks_api_delete(auth_client, user):
    endpoint = WebhookEndpointFactory(owner=user)

    resp = auth_client.delete(f"{API}/webhooks/{endpoint.pk}/")

    assert resp.status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_webhooks_api_list_own_only(auth_client, user, other_user):
    mine = WebhookEndpointFactory(owner=user)
    WebhookEndpointFactory(owner=other_user)

    resp = auth_client.get(f"{API}/webhooks/")

    assert [e["id"] for e in resp.data["results"]] == [mine.pk]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"url": "http://127.0.0.1:9/x"}),
        ("patch", "", {"name": "mine now"}),
        ("delete", "", None),
        ("post", "test/", None),
        ("get", "deliveries/", None),
        ("post", "rotate-secret/", None),
        ("post", "recover/", {"since": "2020-01-01T00:00:00Z"}),
    ],
)
def test_webhooks_api_other_users_endpoint_404(
    client_for, other_user, staff_user, method, suffix, body
):
    theirs = WebhookEndpointFactory(owner=other_user)
    before = WebhookEndpoint.objects.values().get(pk=theirs.pk)

    for intruder in [client_for(staff_user), client_for(UserFactory())]:
        resp = getattr(intruder, method)(
            f"{API}/webhooks/{theirs.pk}/{suffix}", body, format="json"
        )
        assert resp.status_code == 404

    assert WebhookEndpoint.objects.values().get(pk=theirs.pk) == before


def test_webhooks_api_list_anonymous_401(api_client):
    assert api_client.get(f"{API}/webhooks/").status_code == 401
