"""The email settings and unsubscribe pages in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.integrations_external.email.services import settings_for
from apps.integrations_external.email.unsubscribe import unsubscribe_token
from tests_support.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_browser_email_switches_saved_and_shown_after_reload(signed_in, user):
    page = signed_in
    page.get_by_role("link", name="Email settings").click()
    expect(page.get_by_role("heading", name="Email settings")).to_be_visible()
    page.get_by_label("Daily summary").check()
    page.get_by_label("Weekly summary").uncheck()
    page.get_by_role("button", name="Save email settings").click()
    expect(page.locator("#messages")).to_contain_text("Email settings saved.")
    page.reload()
    expect(page.get_by_label("Daily summary")).to_be_checked()
    expect(page.get_by_label("Weekly summary")).not_to_be_checked()
    row = settings_for(user)
    assert row.daily_summary
    assert not row.weekly_summary
    screenshot(page, "email-settings")


def test_browser_unsubscribe_page_confirms_with_a_button(page, user):
    settings_for(user)
    page.goto(
        f"/api/v1/integrations-external/email/unsubscribe/"
        f"{unsubscribe_token(user.pk, 'weekly_summary')}/"
    )
    expect(page.get_by_role("heading", name="Stop weekly summary?")).to_be_visible()
    expect(page.get_by_text("A summary of the last week.")).to_be_visible()
    screenshot(page, "unsubscribe")
    assert settings_for(user).weekly_summary is True  # the GET changed nothing
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert settings_for(user).weekly_summary is False
