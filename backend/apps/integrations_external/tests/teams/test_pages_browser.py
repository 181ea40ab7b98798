"""Teams in a real browser: connect, verify, a test card, the delivery log."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests_support.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_browser_teams_connect_verify_and_log(signed_in, project, teams):
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/")
    page.get_by_role("button", name="Connect a Teams channel").click()
    page.get_by_label("Channel name").fill("Builds")
    page.get_by_label("Workflows webhook URL").fill(teams.url)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").first).to_contain_text("Teams connected to Builds")
    expect(page.get_by_text("•••••••• saved")).to_be_visible()

    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#teams-verification")).to_contain_text("Teams accepted a test card")
    page.get_by_role("button", name="Send test card").click()
    expect(page.get_by_role("status").last).to_contain_text("Test card posted to Builds")
    screenshot(page, "teams")
    assert [post.problems for post in teams.posts] == [[], []]

    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_text("webhook.test").first).to_be_visible()
    assert "s3cr3t-sig" not in page.content()
