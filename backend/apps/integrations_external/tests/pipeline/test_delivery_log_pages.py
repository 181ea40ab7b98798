"""The generic delivery log pages through Django's test client: who sees what, filters, pages,
the chart, resend and recover (plain POST and htmx)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import channels
from apps.integrations_external.pipeline.delivery_log import hourly_outcomes, page_before
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.tests.webhooks.helpers import send_one
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _log(project, endpoint) -> str:
    return f"/projects/{project.pk}/integrations/webhook/{endpoint.pk}/deliveries/"


@pytest.fixture
def endpoint(user, project, receiver):
    return WebhookEndpointFactory(owner=user, project=project, url=receiver.url, retry_count=0)


@pytest.fixture
def delivered(endpoint, run_on_commit, project):
    return send_one(endpoint, run_on_commit, project=project)


def test_delivery_list_shows_owner_deliveries(client, user, project, endpoint, delivered):
    client.force_login(user)
    body = client.get(_log(project, endpoint)).content.decode()
    assert f"#{delivered.pk}" in body
    assert "workflow.completed" in body
    assert f"{_log(project, endpoint)}chart/" in body
    assert "Recover failed deliveries" in body


def test_delivery_chart_partial_for_htmx_and_page_without(
    client, user, project, endpoint, delivered
):
    client.force_login(user)
    partial = client.get(f"{_log(project, endpoint)}chart/", headers={"HX-Request": "true"})
    assert b"<svg" in partial.content
    assert b"<html" not in partial.content
    assert b"1 delivered, 0 failed" in partial.content
    page = client.get(f"{_log(project, endpoint)}chart/")
    assert b"<svg" in page.content
    assert b"<html" in page.content


def test_delivery_list_member_reads_without_actions(client, project, endpoint, delivered):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    body = client.get(_log(project, endpoint)).content.decode()
    assert f"#{delivered.pk}" in body
    assert "Recover failed" not in body
    detail = client.get(f"{_log(project, endpoint)}{delivered.pk}/").content.decode()
    assert "Resend" not in detail
    post = client.post(f"{_log(project, endpoint)}{delivered.pk}/resend/")
    assert post.status_code == 403


def test_delivery_list_outsider_404(client, other_user, project, endpoint, delivered):
    client.force_login(other_user)
    assert client.get(_log(project, endpoint)).status_code == 404
    assert client.get(f"{_log(project, endpoint)}chart/").status_code == 404
    assert client.get(f"{_log(project, endpoint)}{delivered.pk}/").status_code == 404
    assert client.post(f"{_log(project, endpoint)}{delivered.pk}/resend/").status_code == 404


def test_delivery_list_anonymous_to_login(client, project, endpoint):
    response = client.get(_log(project, endpoint))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_delivery_list_target_of_other_project_404(client, user, project, delivered):
    elsewhere = WebhookEndpointFactory(owner=user, project=None)
    client.force_login(user)
    assert client.get(_log(project, elsewhere)).status_code == 404
    assert client.get(f"/projects/{project.pk}/integrations/nope/1/deliveries/").status_code == 404
    # Email's targets are people, not integrations: no per-target log.
    assert (
        client.get(f"/projects/{project.pk}/integrations/email/{user.pk}/deliveries/").status_code
        == 404
    )


def test_delivery_list_filters_by_status_and_event_type(client, user, project, endpoint, delivered):
    client.force_login(user)
    assert (
        f"#{delivered.pk}"
        in client.get(_log(project, endpoint) + "?status=success").content.decode()
    )
    assert (
        f"#{delivered.pk}"
        not in client.get(_log(project, endpoint) + "?status=failed").content.decode()
    )
    body = client.get(_log(project, endpoint) + "?event_type=system.alert").content.decode()
    assert f"#{delivered.pk}" not in body
    assert "No delivery matches these filters" in body
    assert client.get(_log(project, endpoint) + "?status=bogus").status_code == 200


def test_page_before_walks_every_row_once(user, project):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    ids = [record_webhook_deliveries(project, user, [endpoint])[0] for _ in range(7)]
    # Same created_at for some: the id breaks the tie.
    WebhookDelivery.objects.filter(pk__in=ids[:4]).update(created_at=timezone.now())
    channel = channels.get("webhook")
    rows = channel.delivery_model.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
    seen, before = [], None
    while True:
        page = page_before(rows, before, size=3)
        seen += [r.pk for r in page.rows]
        if page.next_before is None:
            break
        before = page.next_before
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


def test_hourly_outcomes_counts_by_hour_and_status(user, project):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    ids = [record_webhook_deliveries(project, user, [endpoint])[0] for _ in range(3)]
    WebhookDelivery.objects.filter(pk=ids[0]).update(status="success")
    WebhookDelivery.objects.filter(pk=ids[1]).update(
        status="failed", created_at=timezone.now() - timedelta(hours=2)
    )
    WebhookDelivery.objects.filter(pk=ids[2]).update(created_at=timezone.now() - timedelta(days=2))
    bars = hourly_outcomes(channels.get("webhook"), endpoint)
    assert len(bars) == 24
    assert (bars[-1].success, bars[-1].failed) == (1, 0)
    assert bars[-3].failed == 1
    assert sum(b.total for b in bars) == 2


def test_delivery_detail_shows_attempt_hides_header_values(
    client, user, project, receiver, run_on_commit
):
    endpoint = WebhookEndpointFactory(
        owner=user, project=project, url=receiver.url, headers={"X-Api-Key": "top-secret-value"}
    )
    delivery = send_one(endpoint, run_on_commit, project=project)
    client.force_login(user)
    body = client.get(f"{_log(project, endpoint)}{delivery.pk}/").content.decode()
    assert "Attempt 1" in body
    assert ">Resend<" in body
    assert "HTTP 200" in body
    assert "X-Api-Key" in body
    assert "top-secret-value" not in body
    assert "webhook-id" in body.lower()
    assert "&quot;type&quot;: &quot;workflow.completed&quot;" in body


def test_delivery_resend_plain_post_redirects_to_copy(client, user, project, endpoint, delivered):
    client.force_login(user)
    response = client.post(f"{_log(project, endpoint)}{delivered.pk}/resend/")
    copy = WebhookDelivery.objects.get(redelivery_of=delivered)
    assert response.status_code == 302
    assert response["Location"] == f"{_log(project, endpoint)}{copy.pk}/"
    assert copy.webhook_id == delivered.webhook_id
    original = client.get(f"{_log(project, endpoint)}{delivered.pk}/").content.decode()
    assert f">#{copy.pk}</a>" in original


def test_delivery_resend_htmx_returns_partial_with_flash(
    client, user, project, endpoint, delivered
):
    client.force_login(user)
    response = client.post(
        f"{_log(project, endpoint)}{delivered.pk}/resend/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "flash" in response["HX-Trigger"]
    assert b"Resent as delivery" in response.content
    assert b"<html" not in response.content


def test_delivery_recover_queues_failed_again(client, user, project, receiver, run_on_commit):
    from tests_support.receivers import Reply

    endpoint = WebhookEndpointFactory(owner=user, project=project, url=receiver.url, retry_count=0)
    receiver.default = Reply(status=500, body=b"down")
    failed = send_one(endpoint, run_on_commit, project=project)
    assert failed.status == "failed"
    receiver.default = Reply()
    client.force_login(user)
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"{_log(project, endpoint)}recover/", {"since": since}, headers={"HX-Request": "true"}
    )
    assert b"1 failed delivery" in response.content
    assert WebhookDelivery.objects.filter(redelivery_of=failed).count() == 1


def test_delivery_recover_refuses_future_time_in_words(client, user, project, endpoint):
    client.force_login(user)
    since = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"{_log(project, endpoint)}recover/", {"since": since}, headers={"HX-Request": "true"}
    )
    assert b"Pick a time in the past" in response.content


def test_delivery_list_serves_slack_without_resend(client, user, other_user, project):
    from apps.integrations_external.models import Event, SlackDelivery, SlackDeliveryAttempt
    from apps.integrations_external.tests.slack.factories import SlackIntegrationFactory

    integration = SlackIntegrationFactory(owner=user, project=project)
    event = Event.objects.create(type="workflow.failed", occurred_at=timezone.now())
    delivery = SlackDelivery.objects.create(
        event=event, event_type=event.type, integration=integration, status="failed"
    )
    SlackDeliveryAttempt.objects.create(
        delivery=delivery,
        attempt_number=1,
        started_at=timezone.now(),
        outcome="failed",
        error_message="not_in_channel: invite the bot to #builds",
    )
    base = f"/projects/{project.pk}/integrations/slack/{integration.pk}/deliveries/"
    client.force_login(user)
    body = client.get(base).content.decode()
    assert f"#{delivery.pk}" in body
    assert "Recover failed" not in body
    detail = client.get(f"{base}{delivery.pk}/").content.decode()
    assert "invite the bot to #builds" in detail
    assert ">Resend<" not in detail
    assert client.post(f"{base}{delivery.pk}/resend/").status_code == 404
    client.force_login(other_user)
    assert client.get(base).status_code == 404


def test_delivery_resend_shares_the_api_throttle(
    client, user, project, endpoint, delivered, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "resend": "1/minute"}
    client.force_login(user)
    url = f"{_log(project, endpoint)}{delivered.pk}/resend/"
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 200
    response = client.post(url, headers={"HX-Request": "true"})
    assert b"Too many resends" in response.content
    assert WebhookDelivery.objects.filter(redelivery_of=delivered).count() == 1
