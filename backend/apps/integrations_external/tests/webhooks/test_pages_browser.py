"""The webhook pages in a real browser, over real HTTP against the live server, delivering to
the loopback receiver (Celery is eager: a delivery is sent when its request commits)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.integrations_external.models import WebhookEndpoint
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import UserFactory
from tests_support.browser import screenshot, sign_in
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db(transaction=True)


def test_browser_webhook_create_test_fail_resend(signed_in, project, receiver):
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/")
    expect(page.get_by_text("No webhook endpoint yet")).to_be_visible()
    page.get_by_role("button", name="Add endpoint").click()
    page.get_by_label("Name", exact=True).fill("Builds")
    page.get_by_label("URL", exact=True).fill(receiver.url)
    page.get_by_label("Command executions").uncheck()
    page.get_by_label("Retries").fill("0")
    screenshot(page, "webhook-form")
    page.get_by_role("button", name="Create endpoint").click()

    # The secret, shown once, copied with its button.
    endpoint = WebhookEndpoint.objects.get(project=project)
    expect(page.locator("#webhook-secret")).to_have_text(endpoint.secret)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == endpoint.secret
    page.get_by_role("button", name=re.compile("open the endpoint")).click()
    expect(page.locator("body")).not_to_contain_text(endpoint.secret)
    expect(page.get_by_text(endpoint.secret[-4:], exact=False).first).to_be_visible()

    # A test event, delivered: its attempt and the receiver's answer.
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#action-result")).to_contain_text("Test event sent")
    expect(page.locator("#messages")).to_contain_text("Test event sent")
    page.locator("#action-result").get_by_role("link", name=re.compile("Open delivery")).click()
    expect(page.locator("#attempt-1")).to_contain_text("HTTP 200")
    expect(page.locator("#attempt-1")).to_contain_text("ok")
    assert receiver.wait_for(1)[0].json()["type"] == "webhook.test"

    # The receiver fails: the failure shows; resend once it is back, without a reload.
    receiver.default = Reply(status=500, body=b"receiver down")
    page.goto(f"/projects/{project.pk}/integrations/webhooks/{endpoint.pk}/")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator("#action-result")).to_contain_text("failed")
    page.locator("#action-result").get_by_role("link", name=re.compile("Open delivery")).click()
    expect(page.locator("#attempt-1")).to_contain_text("HTTP 500")
    expect(page.locator("#attempt-1")).to_contain_text("receiver down")
    receiver.default = Reply(body=b"back again")
    page.get_by_role("button", name="Resend").click()
    expect(page.locator("#resend-result")).to_contain_text("success")
    page.locator("#resend-result").get_by_role("link", name=re.compile("Open delivery")).click()
    expect(page.locator("#attempt-1")).to_contain_text("HTTP 200")
    expect(page.locator("#attempt-1")).to_contain_text("back again")
    screenshot(page, "delivery-detail")

    page.get_by_role("link", name="Deliveries").click()
    expect(page.locator("#deliveries tbody tr")).to_have_count(3)
    expect(page.locator("#delivery-chart")).to_contain_text("2 delivered, 1 failed")
    screenshot(page, "delivery-log")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#deliveries tbody tr")).to_have_count(1)

    page.goto(f"/projects/{project.pk}/integrations/webhooks/")
    expect(page.get_by_role("cell", name="67%")).to_be_visible()
    screenshot(page, "webhooks-list")


def test_browser_webhook_private_url_refused_inline(signed_in, project, settings):
    settings.INTEGRATIONS_ALLOW_PRIVATE_TARGETS = False
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/webhooks/new/")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.locator(".field.has-error")).to_contain_text("loopback")
    assert not WebhookEndpoint.objects.exists()


def test_browser_webhook_member_reads_outsider_404(page, user, project):
    endpoint = WebhookEndpointFactory(
        owner=user, project=project, name="Builds", url="https://hooks.example.com/in?t=1"
    )
    member = UserFactory()
    project.members.add(member)
    sign_in(page, member)
    page.goto(f"/projects/{project.pk}/integrations/webhooks/{endpoint.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Builds"))).to_be_visible()
    for name in ("Send test", "Rotate secret", "Disable", "Delete", "Edit"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(endpoint.secret[-4:])
    expect(page.locator("body")).not_to_contain_text("t=1")

    page.context.clear_cookies()
    sign_in(page, UserFactory())
    response = page.goto(f"/projects/{project.pk}/integrations/webhooks/{endpoint.pk}/")
    assert response.status == 404


def test_browser_events_and_tokens(signed_in):
    page = signed_in
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="workflow.completed")).to_be_visible()
    page.get_by_text("Example payload").first.click()
    expect(page.locator("pre.json").first).to_contain_text('"type": "workflow.completed"')
    screenshot(page, "events")

    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name", exact=True).fill("Deploy script")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#token-key").inner_text()
    assert key.startswith("hub_")
    expect(page.get_by_role("cell", name="Deploy script", exact=True)).to_be_visible()
    screenshot(page, "tokens")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Deploy script").click()
    expect(page.locator("#messages")).to_contain_text("revoked")
    expect(page.get_by_text("No token yet")).to_be_visible()


def test_browser_webhook_rotate_and_recover(signed_in, user, project, receiver):
    from apps.integrations_external.models import WebhookDelivery
    from apps.integrations_external.webhooks.services import WebhookService

    endpoint = WebhookEndpointFactory(
        owner=user, project=project, name="Builds", url=receiver.url, retry_count=0
    )
    receiver.default = Reply(status=503, body=b"maintenance")
    failed = WebhookService(endpoint).queue_test(actor=user)
    failed.refresh_from_db()
    assert failed.status == "failed"
    receiver.default = Reply()
    page = signed_in

    page.goto(f"/projects/{project.pk}/integrations/webhooks/{endpoint.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#secret-once")).to_contain_text("The old secret keeps signing")
    endpoint.refresh_from_db()
    expect(page.locator("#webhook-secret")).to_have_text(endpoint.secret)
    expect(page.locator("#secret-hint")).to_have_text(f"whsec_…{endpoint.secret[-4:]}")
    expect(page.locator("#delivery-chart svg")).to_be_visible()
    screenshot(page, "webhook-detail")

    page.goto(f"/projects/{project.pk}/integrations/webhook/{endpoint.pk}/deliveries/")
    page.get_by_text("Recover failed deliveries since…").click()
    page.get_by_role("button", name="Recover").click()
    expect(page.locator("#recover-result")).to_contain_text("1 failed delivery")
    copy = WebhookDelivery.objects.get(redelivery_of=failed)
    assert copy.status == "success"
