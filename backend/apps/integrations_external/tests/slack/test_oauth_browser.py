"""Add to Slack in a real browser: the button, the fake Slack's authorize page and back, a
forged state, a cancelled install, and Slack's uninstall event turning the integration off."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from playwright.sync_api import expect

from apps.integrations_external.slack.models import SlackIntegration
from tests_support.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_ID = "1234.5678"
SIGNING_SECRET = "browser-signing-secret"


@pytest.fixture
def slack_app(settings, fake_slack, live_server):
    settings.SLACK_CLIENT_ID = CLIENT_ID
    settings.SLACK_CLIENT_SECRET = "client-secret"
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_OAUTH_BASE_URL = fake_slack.authorize_url
    settings.PUBLIC_BASE_URL = live_server.url
    fake_slack.register_app(CLIENT_ID, "client-secret")
    return fake_slack


def uninstall_event(live_server) -> httpx.Response:
    body = json.dumps(
        {"type": "event_callback", "team_id": "T0001", "event": {"type": "app_uninstalled"}}
    )
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return httpx.post(
        f"{live_server.url}/api/v1/integrations-external/slack/events/",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        },
    )


def test_browser_add_to_slack_forged_cancel_install_uninstall(
    signed_in, project, slack_app, live_server
):
    page = signed_in
    # A forged state (a callback we never started) is refused in words.
    page.goto("/integrations/slack/oauth/callback/?code=x&state=forged")
    expect(page.get_by_role("alert")).to_contain_text("not one we issued")

    # The person cancels on Slack's page.
    slack_app.approve_next_install(deny=True)
    page.goto(f"/projects/{project.pk}/integrations/")
    page.get_by_role("button", name="Add to Slack").click()
    expect(page.get_by_role("alert")).to_contain_text("the install was cancelled")
    assert not SlackIntegration.objects.exists()

    # Then approves, picking #deploys.
    slack_app.approve_next_install(channel_id="C0DEPLOYS1", channel_name="deploys")
    page.goto(f"/projects/{project.pk}/integrations/")
    page.get_by_role("button", name="Add to Slack").click()
    expect(page.get_by_role("status").first).to_contain_text("Slack is connected")
    expect(page.locator("#slack")).to_contain_text("#deploys")
    screenshot(page, "slack-added")
    integration = SlackIntegration.objects.get()
    assert integration.installed_with_oauth
    assert integration.last_verification_ok

    # Slack tells us the app was uninstalled: the integration stops, with the reason shown.
    assert uninstall_event(live_server).status_code == 200
    page.locator("#slack").get_by_role("link").first.click()
    expect(page.locator("#slack-status")).to_contain_text("the app was uninstalled")
