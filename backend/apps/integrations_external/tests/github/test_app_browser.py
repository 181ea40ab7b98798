"""Install GitHub App in a real browser: through the fake GitHub's install page and back,
a forged state, an installation the user cannot access, and an uninstall."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from apps.integrations_external.github.app import forget_installation_tokens
from apps.integrations_external.github.models import GitHubIntegration
from tests_support.browser import screenshot
from tests_support.fake_github import use_github_app

pytestmark = pytest.mark.django_db(transaction=True)

INSTALLATION = 777


@pytest.fixture
def github_app(settings, fake_github, live_server):
    forget_installation_tokens()
    use_github_app(settings, fake_github, site_url=live_server.url)
    shop = fake_github.add_repo("acme", "shop")
    fake_github.add_installation(INSTALLATION, account="acme", repos=[shop], users=["octocat"])
    fake_github.add_installation(999, account="evil", repos=[], users=["mallory"])
    fake_github.install_as = (INSTALLATION, "octocat")
    yield fake_github
    forget_installation_tokens()


def uninstall(live_server, installation_id: int) -> httpx.Response:
    body = json.dumps(
        {"action": "deleted", "installation": {"id": installation_id, "account": {"login": "acme"}}}
    ).encode()
    signature = hmac.new(b"app-webhook-secret", body, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{live_server.url}/api/v1/integrations-external/github/app/webhook/",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "installation",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
        },
    )


def test_browser_github_app_install_refusals_and_uninstall(
    signed_in, project, github_app, live_server
):
    page = signed_in
    page.goto(f"/projects/{project.pk}/integrations/")
    section = page.locator("#github")
    screenshot(page, "github-app-section")

    # Forged state: refused with a page that says so.
    page.goto(
        "/integrations/github/app/setup/?installation_id=777&setup_action=install"
        "&code=abc&state=forged"
    )
    expect(page.get_by_role("alert")).to_contain_text("not one we issued")
    screenshot(page, "github-app-refused")

    # An installation this GitHub user cannot access: refused.
    github_app.install_as = (999, "octocat")
    page.goto(f"/projects/{project.pk}/integrations/")
    section.get_by_role("button", name="Install GitHub App").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot access this installation")

    # The real install: GitHub's page, back to ours, pick the repository.
    github_app.install_as = (INSTALLATION, "octocat")
    page.goto(f"/projects/{project.pk}/integrations/")
    section.get_by_role("button", name="Install GitHub App").click()
    expect(page.get_by_role("heading", name="Pick the repository")).to_be_visible()
    screenshot(page, "github-app-pick")
    page.get_by_label("acme/shop (private)").check()
    page.get_by_role("button", name="Connect repository").click()
    expect(page.get_by_text("GitHub is connected: acme/shop.")).to_be_visible()
    expect(page.locator("#github")).to_contain_text("acme/shop")
    screenshot(page, "github-app-connected")
    integration = GitHubIntegration.objects.get()
    assert (integration.installation_id, integration.access_token) == (INSTALLATION, "")

    # Uninstalled on GitHub: the app's webhook turns the integration off, with the reason.
    assert uninstall(live_server, INSTALLATION).json()["turned_off"] == 1
    integration.refresh_from_db()
    assert not integration.is_active
    assert "uninstalled from acme" in integration.disabled_reason
