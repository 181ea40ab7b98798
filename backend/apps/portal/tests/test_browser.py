"""The shell in a real browser: sign in, find a project, walk its tabs, sign out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.projects.tests.factories import ProjectFactory, UserFactory, UserStoryFactory
from tests_support.browser import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_browser_sign_in_and_walk_project_tabs(page, user):
    project = ProjectFactory(owner=user, name="Checkout service")
    UserStoryFactory(project=project, title="Pay with a saved card")
    ProjectFactory(name="Another team's project")

    sign_in(page, user)
    expect(page.get_by_role("link", name="Checkout service")).to_be_visible()
    expect(page.get_by_text("Another team's project")).to_have_count(0)
    screenshot(page, "projects")

    page.get_by_role("link", name="Checkout service").click()
    expect(page.get_by_role("heading", name="Checkout service")).to_be_visible()
    expect(page.get_by_text("Pay with a saved card")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Project")
    for tab in ("Workflows", "Executions", "Integrations", "Stories"):
        tabs.get_by_role("link", name=tab).click()
        expect(tabs.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")

    page.get_by_text(user.get_username()).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(f"/projects/{project.pk}/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))


def test_browser_outsider_gets_404(page, project):
    outsider = UserFactory()
    sign_in(page, outsider)
    response = page.goto(f"/projects/{project.pk}/integrations/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_browser_wrong_password_is_said_in_words(page, user):
    page.goto("/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
