"""The GitHub pages through Django's test client: who sees what, and every action."""

from __future__ import annotations

import pytest

from apps.integrations_external.github.models import GitHubIntegration
from apps.integrations_external.github.services import GitHubService
from apps.projects.tests.factories import UserFactory, UserStoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _url(project, integration=None, action=""):
    base = f"/projects/{project.pk}/integrations/github/"
    return f"{base}{integration.pk}/{action}" if integration else f"{base}{action}"


def test_github_pages_need_sign_in(client, project, integration):
    response = client.get(_url(project, integration))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_github_pages_outsider_gets_404(client, project, integration):
    client.force_login(UserFactory())
    for path in (_url(project, integration), _url(project, integration, "sync/status/")):
        assert client.get(path).status_code == 404, path
    assert client.post(_url(project, integration, "sync/")).status_code == 404


def test_github_page_member_reads_without_secret_or_buttons(
    client, project, integration, fake_github
):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    body = client.get(_url(project, integration)).content.decode()
    assert "acme/shop" in body
    assert fake_github.token not in body
    assert integration.webhook_secret not in body
    assert "Sync now" not in body
    assert "Save settings" not in body
    assert client.post(_url(project, integration, "sync/")).status_code == 403
    assert client.get(_url(project, action="new/")).status_code == 403


def test_github_connect_refuses_bad_input_in_words(client, user, project, fake_github):
    client.force_login(user)
    response = client.post(
        _url(project, action="new/"),
        {"repository_owner": "acme/x", "repository_name": "shop", "api_base_url": "ftp://x"},
    )
    body = response.content.decode()
    assert "Letters, digits, &#x27;-&#x27;, &#x27;_&#x27; and &#x27;.&#x27; only." in body
    assert "This field is required." in body  # the token
    assert not GitHubIntegration.objects.exists()


def test_github_connect_shows_webhook_secret_once(client, user, project, fake_github, repo):
    client.force_login(user)
    response = client.post(
        _url(project, action="new/"),
        {
            "repository_owner": "acme",
            "repository_name": "shop",
            "access_token": fake_github.token,
            "api_base_url": fake_github.base_url,
            "auto_sync_prs": "on",
        },
        follow=True,
    )
    integration = GitHubIntegration.objects.get()
    body = response.content.decode()
    assert integration.webhook_secret in body
    assert fake_github.token not in body
    again = client.get(_url(project, integration)).content.decode()
    assert integration.webhook_secret not in again


def test_github_verify_names_missing_permissions(client, user, project, fake_github, repo):
    repo.permissions = {"admin": False, "push": True, "pull": True}
    integration = GitHubIntegration.objects.create(
        owner=user,
        project=project,
        repository_owner="acme",
        repository_name="shop",
        access_token=fake_github.token,
        api_base_url=fake_github.base_url,
    )
    client.force_login(user)
    body = client.post(_url(project, integration, "verify/"), follow=True).content.decode()
    assert "missing admin access" in body


def test_github_create_webhook_flashes_outcome(client, user, project, integration, repo):
    client.force_login(user)
    body = client.post(_url(project, integration, "create-webhook/"), follow=True).content.decode()
    assert "Repository webhook created" in body
    integration.refresh_from_db()
    assert integration.hook_id


def test_github_sync_lists_pull_requests_with_story_links(
    client, user, project, integration, fake_github, repo
):
    story = UserStoryFactory(project=project, title="Pay by card")
    fake_github.add_pull(repo, title=f"{story.key}: card payments")
    client.force_login(user)
    body = client.post(_url(project, integration, "sync/"), follow=True).content.decode()
    assert "Sync finished." in body
    assert "card payments" in body
    assert f'href="/projects/{project.pk}/stories/{story.pk}/"' in body


def test_github_sync_status_polls_only_while_running(client, user, project, integration):
    client.force_login(user)
    GitHubIntegration.objects.filter(pk=integration.pk).update(sync_state="running")
    running = client.get(_url(project, integration, "sync/status/")).content.decode()
    assert 'hx-trigger="every 2s"' in running
    GitHubIntegration.objects.filter(pk=integration.pk).update(sync_state="succeeded")
    done = client.get(_url(project, integration, "sync/status/")).content.decode()
    assert "hx-trigger" not in done


def test_github_disable_and_delete(client, user, project, integration):
    client.force_login(user)
    client.post(_url(project, integration, "active/"), {"is_active": "0"})
    integration.refresh_from_db()
    assert integration.is_active is False
    client.post(_url(project, integration, "delete/"))
    assert not GitHubIntegration.objects.exists()


def test_story_page_shows_its_pull_requests(client, user, project, integration, fake_github, repo):
    story = UserStoryFactory(project=project)
    fake_github.add_pull(repo, title=f"Fix {story.key}", merged=True)
    GitHubService(integration).sync_pull_requests()
    client.force_login(user)
    body = client.get(f"/projects/{project.pk}/stories/{story.pk}/").content.decode()
    assert f"Fix {story.key}" in body
    assert "Merged" in body


def test_github_page_lists_workflow_runs(
    client, user, project, make_integration, fake_github, repo
):
    fake_github.add_run(repo, name="CI", conclusion="failure")
    integration = make_integration(sync_workflows=True)
    client.force_login(user)
    body = client.post(_url(project, integration, "sync/"), follow=True).content.decode()
    assert "Workflow runs" in body
    assert "CI #1" in body
    assert "failure" in body
