"""The Slack pages in a real browser, against the fake Slack over HTTP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.integrations_external.models import SlackIntegration
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.projects.tests.factories import UserFactory
from tests_support.browser import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_browser_slack_connect_verify_and_test_message(signed_in, project, slack):
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/")
    page.get_by_role("button", name="Connect a Slack channel").click()

    page.get_by_label("Channel ID").fill("C0BUILDS01")
    page.get_by_label("Bot token").fill("not-a-token")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Expected a Slack bot token starting with xoxb-."
    )

    # Well-formed but unknown to Slack: saved, and Verify says what is wrong.
    page.get_by_label("Bot token").fill("xoxb-0000-revoked-token")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#messages")).to_contain_text("Slack connected")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#slack-status")).to_contain_text("Invalid token")
    expect(page.locator("#slack-status")).to_contain_text("Unhealthy")

    page.get_by_label("New bot token").fill(BOT_TOKEN)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#messages")).to_contain_text("Slack settings saved.")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#slack-status")).to_contain_text("Connected to Acme as @buildbot")
    expect(page.locator("#messages")).to_contain_text("it can post to #builds")

    page.get_by_role("button", name="Send test message").click()
    expect(page.locator("#messages")).to_contain_text("Test message posted to Acme #builds")
    expect(page.locator("#slack-status")).to_contain_text("Latest: webhook.test")
    assert len(slack.posted()) == 1
    assert BOT_TOKEN not in page.content()
    assert SlackIntegration.objects.get().bot_token == BOT_TOKEN
    screenshot(page, "slack")


def test_browser_slack_member_sees_no_secret_and_no_buttons(page, project, slack):
    SlackIntegrationFactory(owner=project.owner, project=project)
    member = UserFactory()
    project.members.add(member)
    sign_in(page, member)
    page.goto(f"/projects/{project.pk}/integrations/")
    expect(page.get_by_role("button", name="Connect a Slack channel")).to_have_count(0)
    page.get_by_role("link", name="Acme · #builds").click()
    expect(page.get_by_role("heading", name="Slack: Acme · #builds")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)  # "Sign out" hides in a closed menu
    assert BOT_TOKEN not in page.content()


def test_browser_slack_outsider_gets_404(page, project, slack):
    integration = SlackIntegrationFactory(owner=project.owner, project=project)
    sign_in(page, UserFactory())
    response = page.goto(f"/projects/{project.pk}/integrations/slack/{integration.pk}/")
    assert response.status == 404
