"""The webhook pages through Django's test client: list, forms validated by the API's
serializer, the secret shown once, actions, and who may see and do what."""

from __future__ import annotations

import pytest
from django.test import override_settings

from apps.integrations_external.models import WebhookDelivery, WebhookEndpoint
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _base(project) -> str:
    return f"/projects/{project.pk}/integrations/webhooks/"


def _form(url: str, **extra) -> dict:
    return {
        "name": "Builds",
        "url": url,
        "method": "POST",
        "events": ["trigger_workflow_completion"],
        "custom_events": "",
        "headers": "",
        "retry_count": "3",
        "timeout_seconds": "5",
        **extra,
    }


@pytest.fixture
def endpoint(user, project):
    return WebhookEndpointFactory(
        owner=user,
        project=project,
        url="https://hooks.example.com/in?token=abc",
        headers={"X-Api-Key": "k-123"},
    )


def test_webhook_section_lists_endpoint_with_status(client, user, project, endpoint):
    client.force_login(user)
    body = client.get(f"/projects/{project.pk}/integrations/").content.decode()
    assert endpoint.name in body
    assert "Add endpoint" in body
    assert "workflow.completed" in body
    assert "Active" in body


def test_webhook_section_empty_state_says_what_to_do(client, user, project):
    client.force_login(user)
    body = client.get(_base(project)).content.decode()
    assert "No webhook endpoint yet" in body
    assert "Add an endpoint" in body


def test_webhook_list_shows_failing_and_disabled_reason(client, user, project, endpoint):
    from django.utils import timezone

    WebhookEndpointFactory(
        owner=user, project=project, is_active=False, disabled_reason="410 Gone from the receiver."
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    client.force_login(user)
    body = client.get(_base(project)).content.decode()
    assert "Failing since" in body
    assert "Disabled" in body
    assert "410 Gone from the receiver." in body


def test_webhook_create_shows_secret_once(client, user, project):
    client.force_login(user)
    response = client.post(f"{_base(project)}new/", _form("https://hooks.example.com/x"))
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get(project=project)
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert endpoint.owner == user
    assert endpoint.retry_count == 3
    assert endpoint.trigger_workflow_completion
    assert not endpoint.trigger_command_execution
    detail = client.get(f"{_base(project)}{endpoint.pk}/").content.decode()
    assert endpoint.secret not in detail
    assert endpoint.secret[-4:] in detail


def test_webhook_create_parses_headers_and_custom_events(client, user, project):
    client.force_login(user)
    data = _form(
        "https://hooks.example.com/x",
        headers="X-Team: builds\nAuthorization: Bearer t0k",
        custom_events="deploy.finished\norder.shipped",
    )
    assert client.post(f"{_base(project)}new/", data).status_code == 201
    endpoint = WebhookEndpoint.objects.get(project=project)
    assert endpoint.headers == {"X-Team": "builds", "Authorization": "Bearer t0k"}
    assert endpoint.custom_events == ["deploy.finished", "order.shipped"]


@override_settings(INTEGRATIONS_ALLOW_PRIVATE_TARGETS=False)
def test_webhook_create_refuses_private_url_inline(client, user, project):
    client.force_login(user)
    response = client.post(f"{_base(project)}new/", _form("http://127.0.0.1:9/hook"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="error"' in body
    assert "loopback" in body
    assert not WebhookEndpoint.objects.exists()


def test_webhook_create_shows_api_errors_on_fields(client, user, project):
    client.force_login(user)
    data = _form(
        "ftp://example.com/x",
        headers="webhook-id: mine\nbad line",
        custom_events="Not Valid",
        retry_count="99",
    )
    body = client.post(f"{_base(project)}new/", data).content.decode()
    assert "Line 2: write a header as Name: value" in body
    data["headers"] = "webhook-id: mine"
    body = client.post(f"{_base(project)}new/", data).content.decode()
    assert "Only http and https URLs are allowed." in body
    assert "set by the platform" in body
    assert "is not a custom event type" in body
    assert "less than or equal to 15" in body
    assert "{&#x27;" not in body
    assert "[ErrorDetail" not in body


def test_webhook_edit_keeps_headers_left_blank(client, user, project, endpoint):
    client.force_login(user)
    page = client.get(f"{_base(project)}{endpoint.pk}/edit/").content.decode()
    assert "X-Api-Key" in page
    assert "k-123" not in page
    response = client.post(
        f"{_base(project)}{endpoint.pk}/edit/", _form("https://hooks.example.com/new", name="New")
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url) == ("New", "https://hooks.example.com/new")
    assert endpoint.headers == {"X-Api-Key": "k-123"}
    client.post(
        f"{_base(project)}{endpoint.pk}/edit/",
        _form("https://hooks.example.com/new", clear_headers="on"),
    )
    endpoint.refresh_from_db()
    assert endpoint.headers == {}


def test_webhook_rotate_shows_new_secret_once(client, user, project, endpoint):
    old = endpoint.secret
    client.force_login(user)
    response = client.post(f"{_base(project)}{endpoint.pk}/rotate-secret/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()
    htmx = client.post(
        f"{_base(project)}{endpoint.pk}/rotate-secret/", headers={"HX-Request": "true"}
    )
    endpoint.refresh_from_db()
    assert endpoint.secret in htmx.content.decode()
    assert "flash" in htmx["HX-Trigger"]


def test_webhook_disable_and_enable(client, user, project, endpoint):
    client.force_login(user)
    response = client.post(f"{_base(project)}{endpoint.pk}/disable/", follow=True)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert b"disabled." in response.content
    client.post(f"{_base(project)}{endpoint.pk}/enable/")
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.disabled_reason == ""


def test_webhook_delete_confirms_first(client, user, project, endpoint):
    client.force_login(user)
    page = client.get(f"{_base(project)}{endpoint.pk}/delete/")
    assert b"cannot be undone" in page.content
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    response = client.post(f"{_base(project)}{endpoint.pk}/delete/")
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_webhook_test_sends_and_links_delivery(client, user, project, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(owner=user, project=project, url=receiver.url)
    client.force_login(user)
    with run_on_commit():
        response = client.post(
            f"{_base(project)}{endpoint.pk}/test/", headers={"HX-Request": "true"}
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test"
    assert f"Open delivery #{delivery.pk}" in response.content.decode()
    assert receiver.wait_for(1)[0].json()["type"] == "webhook.test"
    plain = client.post(f"{_base(project)}{endpoint.pk}/test/")
    assert plain.status_code == 302
    assert "/deliveries/" in plain["Location"]


def test_webhook_member_reads_without_secret_or_buttons(client, project, endpoint):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    for path in ("", f"{endpoint.pk}/"):
        body = client.get(f"{_base(project)}{path}").content.decode()
        assert endpoint.name in body
        assert "token=abc" not in body  # the URL's origin only
        assert endpoint.secret[-4:] not in body
        for button in ("Add endpoint", "Send test", "Rotate secret", "Delete", ">Edit<"):
            assert button not in body, button
    for path in ("new/", f"{endpoint.pk}/edit/", f"{endpoint.pk}/delete/"):
        assert client.get(f"{_base(project)}{path}").status_code == 403, path
    for action in ("rotate-secret", "enable", "disable", "test", "delete"):
        assert client.post(f"{_base(project)}{endpoint.pk}/{action}/").status_code == 403, action


def test_webhook_pages_outsider_404(client, other_user, project, endpoint):
    client.force_login(other_user)
    for path in ("", "new/", f"{endpoint.pk}/", f"{endpoint.pk}/edit/", f"{endpoint.pk}/delete/"):
        assert client.get(f"{_base(project)}{path}").status_code == 404, path
    assert client.post(f"{_base(project)}{endpoint.pk}/rotate-secret/").status_code == 404


def test_webhook_pages_anonymous_to_login(client, project, endpoint):
    for path in ("", "new/", f"{endpoint.pk}/"):
        response = client.get(f"{_base(project)}{path}")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
