"""The GitHub pages in a real browser, against the fake GitHub over HTTP."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.github.services import GitHubService
from apps.projects.tests.factories import UserFactory, UserStoryFactory
from tests_support.browser import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_browser_github_connect_sync_and_story_links(signed_in, project, fake_github, repo):
    story = UserStoryFactory(project=project, title="Pay by card")
    fake_github.add_pull(repo, title=f"{story.key}: card payments", merged=True)
    fake_github.add_pull(repo, title="Tidy the README")
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/")
    page.get_by_role("button", name="Connect with a token").click()
    page.get_by_label("Owner").fill("acme")
    page.get_by_label("Repository").fill("shop")
    page.get_by_label("Access token").fill(fake_github.token)
    page.get_by_label("API base URL").fill(fake_github.base_url)
    page.get_by_role("button", name="Connect").click()

    secret = GitHubIntegration.objects.get().webhook_secret
    expect(page.locator("#github-webhook-secret")).to_have_text(secret)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#github-status")).to_contain_text("with write and admin access")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#github-sync")).to_contain_text("2 new")
    expect(page.locator("#github-sync")).to_contain_text("card payments")
    expect(page.locator("#github-sync")).to_contain_text("Merged")
    assert fake_github.token not in page.content()
    screenshot(page, "github")

    page.reload()  # the secret was shown once
    expect(page.locator("#github-webhook-secret")).to_have_count(0)
    page.locator("#github-sync").get_by_role("link", name=story.key, exact=True).click()
    expect(page.get_by_role("heading", name=f"{story.key} Pay by card")).to_be_visible()
    expect(page.locator("#story-github")).to_contain_text("card payments")
    screenshot(page, "story")


def test_browser_github_member_sees_no_secret_and_no_buttons(page, project, integration):
    member = UserFactory()
    project.members.add(member)
    sign_in(page, member)
    page.goto(f"/projects/{project.pk}/integrations/github/{integration.pk}/")
    expect(page.get_by_role("heading", name="GitHub: acme/shop")).to_be_visible()
    expect(page.get_by_role("button", name="Sync now")).to_have_count(0)
    expect(page.get_by_role("button", name="Verify")).to_have_count(0)
    assert integration.webhook_secret not in page.content()


def test_browser_github_outsider_gets_404(page, project, integration):
    sign_in(page, UserFactory())
    response = page.goto(f"/projects/{project.pk}/integrations/github/{integration.pk}/")
    assert response.status == 404


def test_browser_github_sync_progress_updates_without_reload(
    signed_in, project, integration, fake_github, repo
):
    fake_github.add_pull(repo, title="Faster checkout")
    GitHubIntegration.objects.filter(pk=integration.pk).update(
        sync_state=GitHubIntegration.SyncState.RUNNING, sync_started_at=timezone.now()
    )
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/github/{integration.pk}/")
    expect(page.locator("#github-sync")).to_contain_text("Fetching pull requests")

    integration.refresh_from_db()
    GitHubService(integration).run_sync()  # what the worker does

    expect(page.locator("#github-sync")).to_contain_text("1 new", timeout=8_000)
    expect(page.locator("#github-sync")).to_contain_text("Faster checkout")
    expect(page.locator("#github-sync")).not_to_have_attribute("hx-trigger", "every 2s")
