"""Auto-disable: an endpoint that keeps failing is switched off, and its owner is told."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import SystemAlert
from apps.integrations_external.models import EmailDelivery, WebhookEndpoint
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.tests.webhooks.helpers import API
from apps.projects.tests.factories import UserFactory
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def fail_once(endpoint, run_on_commit):
    with run_on_commit():
        publish("workflow.completed", {}, actor=endpoint.owner, targets={"webhook": [endpoint]})


def test_auto_disable_after_n_exhausted_emails_owner(user, receiver, run_on_commit, settings):
    # given: N exhausted deliveries in a row
    settings.WEBHOOK_AUTO_DISABLE_AFTER_FAILURES = 3
    receiver.default = Reply(500)
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)

    for expected in (1, 2):
        fail_once(endpoint, run_on_commit)
        endpoint.refresh_from_db()
        assert endpoint.is_active
        assert endpoint.consecutive_failures == expected
    fail_once(endpoint, run_on_commit)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at is not None
    assert "3 deliveries in a row" in endpoint.disabled_reason
    assert not SystemAlert.objects.exists()
    notice = EmailDelivery.objects.get(recipient=user, event_type="email.notice")
    assert "3 deliveries in a row" in notice.payload["data"]["text"]


def test_auto_disable_counter_resets_on_success(user, receiver, run_on_commit, settings):
    settings.WEBHOOK_AUTO_DISABLE_AFTER_FAILURES = 2
    receiver.script = [Reply(500), Reply(200), Reply(500)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)

    for _ in range(3):
        fail_once(endpoint, run_on_commit)

    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.consecutive_failures == 1


def test_auto_disable_after_days_of_failures(user, receiver, run_on_commit, settings):
    settings.WEBHOOK_AUTO_DISABLE_AFTER_DAYS = 5
    receiver.default = Reply(500)
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=6), consecutive_failures=1
    )

    fail_once(endpoint, run_on_commit)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "has failed since" in endpoint.disabled_reason


def test_auto_disabled_endpoint_unrouted_until_active(
    auth_client, user, project, receiver, run_on_commit, settings
):
    settings.WEBHOOK_AUTO_DISABLE_AFTER_FAILURES = 1
    receiver.script = [Reply(500)]
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url, retry_count=0)
    with run_on_commit():
        publish("workflow.completed", {}, project=project, actor=user)
    endpoint.refresh_from_db()
    assert not endpoint.is_active

    with run_on_commit():
        publish("workflow.completed", {}, project=project, actor=user)
    assert len(receiver.requests) == 1

    auth_client.patch(f"{API}/webhooks/{endpoint.pk}/", {"is_active": True}, format="json")
    with run_on_commit():
        publish("workflow.completed", {}, project=project, actor=user)
    assert len(receiver.wait_for(2)) == 2


def test_auto_disable_hostile_name_tells_owner_only(
    auth_client, client_for, user, receiver, run_on_commit
):
    # given: a hostile endpoint name and URL
    # Issue 11 item 4: a disabled endpoint used to raise a system alert (read by every user,
    # emailed to staff) holding its name, URL and the owner's username.
    staff = UserFactory(is_staff=True, email="ops@example.com")
    bystander = UserFactory()
    receiver.default = Reply(410)
    name = "SECURITY NOTICE: all users must re-login at https://evil.example"
    created = auth_client.post(
        f"{API}/webhooks/",
        {"url": f"{receiver.url}?token=s3cr3t", "name": name, "retry_count": 0},
        format="json",
    )
    assert created.status_code == 201, created.data
    endpoint = WebhookEndpoint.objects.get(pk=created.data["id"])

    fail_once(endpoint, run_on_commit)

    shown = auth_client.get(f"{API}/webhooks/{endpoint.pk}/").data
    assert shown["is_active"] is False
    assert "410" in shown["disabled_reason"]
    assert shown["disabled_at"] is not None
    assert not SystemAlert.objects.exists()
    assert client_for(bystander).get("/api/v1/system-alerts/").data["count"] == 0
    assert not EmailDelivery.objects.filter(recipient=staff).exists()
    notice = EmailDelivery.objects.get(recipient=user, event_type="email.notice")
    assert "410" in notice.payload["data"]["text"]
    assert "s3cr3t" not in str(notice.payload)
