"""The GitHub API under /api/v1/integrations-external/github/ and the story endpoints."""

import json

import pytest

from apps.integrations_external.github.models import GitHubIntegration, GitHubIssueLink
from apps.projects.tests.factories import ProjectFactory, UserStoryFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/integrations-external/github/"


@pytest.fixture
def create_body(project, fake_github):
    return {
        "project": project.pk,
        "repository_owner": "acme",
        "repository_name": "shop",
        "access_token": fake_github.token,
        "api_base_url": fake_github.base_url,
    }


def test_api_create_shows_secret_once_and_never_the_token(auth_client, create_body, fake_github):
    resp = auth_client.post(BASE, create_body, format="json")

    assert resp.status_code == 201
    integration = GitHubIntegration.objects.get()
    assert resp.data["webhook_secret"] == integration.webhook_secret
    assert len(integration.webhook_secret) >= 32
    assert fake_github.token not in json.dumps(resp.data)
    assert resp.data["has_access_token"] is True
    detail = auth_client.get(f"{BASE}{integration.pk}/")
    listing = auth_client.get(BASE)
    for answer in (detail, listing):
        text = json.dumps(answer.data)
        assert fake_github.token not in text
        assert integration.webhook_secret not in text


def test_api_token_and_secret_encrypted_at_rest(integration, fake_github):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, webhook_secret FROM integrations_external_githubintegration"
        )
        token, secret = cursor.fetchone()
    assert token.startswith("fernet:")
    assert fake_github.token not in token
    assert secret.startswith("fernet:")
    assert integration.webhook_secret not in secret


def test_api_create_in_someone_elses_project_is_400(client_for, other_user, create_body):
    resp = client_for(other_user).post(BASE, create_body, format="json")

    assert resp.status_code == 400
    assert "project" in resp.data


def test_api_create_bad_input_gives_field_errors(auth_client, create_body):
    body = {**create_body, "repository_name": "bad name/..", "api_base_url": "ftp://x"}
    body.pop("access_token")

    resp = auth_client.post(BASE, body, format="json")

    assert resp.status_code == 400
    assert {"repository_name", "api_base_url", "access_token"} <= set(resp.data)


def test_api_other_users_integration_is_404_everywhere(client_for, other_user, integration):
    client = client_for(other_user)
    pk = integration.pk
    assert client.get(f"{BASE}{pk}/").status_code == 404
    assert client.patch(f"{BASE}{pk}/", {"is_active": False}, format="json").status_code == 404
    assert client.delete(f"{BASE}{pk}/").status_code == 404
    for action in ("verify", "sync-prs", "create-webhook"):
        assert client.post(f"{BASE}{pk}/{action}/").status_code == 404
    for listing in ("pull-requests", "workflow-runs"):
        assert client.get(f"{BASE}{pk}/{listing}/").status_code == 404
    assert client.get(BASE).data["count"] == 0


def test_api_patch_without_token_keeps_it_and_put_works(auth_client, integration, fake_github):
    resp = auth_client.patch(
        f"{BASE}{integration.pk}/", {"auto_create_issues": True}, format="json"
    )
    assert resp.status_code == 200
    integration.refresh_from_db()
    assert integration.access_token == fake_github.token
    assert integration.auto_create_issues

    body = {
        "project": integration.project_id,
        "repository_owner": "acme",
        "repository_name": "shop",
        "api_base_url": fake_github.base_url,
        "sync_workflows": True,
    }
    assert auth_client.put(f"{BASE}{integration.pk}/", body, format="json").status_code == 200
    assert auth_client.delete(f"{BASE}{integration.pk}/").status_code == 204


def test_api_verify_200_with_ok_and_detail(auth_client, integration):
    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.status_code == 200
    assert resp.data["ok"] is True
    assert "acme/shop" in resp.data["detail"]


def test_api_verify_bad_token_200_with_ok_false(auth_client, make_integration, repo):
    integration = make_integration(access_token="ghp_nope")

    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.status_code == 200
    assert resp.data["ok"] is False
    assert "token" in resp.data["detail"]
    assert "ghp_nope" not in json.dumps(resp.data)


def test_api_sync_prs_202_queued_and_worker_fills_mirror(
    auth_client, integration, project, fake_github, repo, run_on_commit
):
    # then: 202 and queued; the worker's run shows, with the mirror
    story = UserStoryFactory(project=project)
    fake_github.add_pull(repo, title=f"Implement {story.key}")
    fake_github.add_pull(repo)

    with run_on_commit():  # the task is queued after commit (eager here)
        resp = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")
    with run_on_commit():
        again = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")
    detail = auth_client.get(f"{BASE}{integration.pk}/")
    mirror = auth_client.get(f"{BASE}{integration.pk}/pull-requests/")

    assert resp.status_code == 202
    assert resp.data["queued"] is True
    assert resp.data["sync_state"] == "queued"
    assert resp.data["sync_requested_at"]
    assert again.status_code == 202
    assert detail.data["sync_state"] == "succeeded"
    assert detail.data["sync_error"] == ""
    assert detail.data["sync_started_at"] <= detail.data["sync_finished_at"]
    assert detail.data["last_sync_result"]["not_modified"] is True  # the second run: 304
    assert detail.data["last_sync_result"]["unchanged"] == 2
    rows = {row["number"]: row for row in mirror.data["results"]}
    assert rows[1]["stories"] == [{"id": story.pk, "key": story.key, "title": story.title}]
    assert rows[2]["stories"] == []


def test_api_sync_rate_limited_waits_and_next_call_is_429(
    auth_client, integration, fake_github, repo, run_on_commit
):
    # then: the sync state waits and the next request answers 429 with Retry-After
    fake_github.limit_next("secondary", seconds=30)

    with run_on_commit():
        first = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")
    second = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")

    assert first.status_code == 202
    integration.refresh_from_db()
    assert integration.sync_state == "queued"
    assert "rate limit" in integration.sync_error
    assert second.status_code == 429
    assert 29 <= int(second["Retry-After"]) <= 30


def test_api_create_webhook_as_github_expects(auth_client, integration, repo, settings):
    settings.PUBLIC_BASE_URL = "https://hub.example"

    resp = auth_client.post(f"{BASE}{integration.pk}/create-webhook/")

    assert resp.status_code == 201
    [hook] = repo.hooks
    assert hook["name"] == "web"
    assert hook["events"] == ["pull_request", "issues", "workflow_run"]
    integration.refresh_from_db()
    assert hook["config"] == {
        "url": f"https://hub.example/api/v1/integrations-external/github/{integration.pk}/webhook/",
        "content_type": "json",
        "secret": integration.webhook_secret,
        "insecure_ssl": "0",
    }
    assert integration.hook_id == resp.data["hook_id"]


def test_api_create_webhook_without_admin_400_with_detail(
    auth_client, make_integration, fake_github
):
    fake_github.add_repo("acme", "shop", permissions={"admin": False, "push": True})
    integration = make_integration()

    resp = auth_client.post(f"{BASE}{integration.pk}/create-webhook/")

    assert resp.status_code == 400
    assert integration.hook_id is None


def test_api_workflow_runs_list_the_mirror(auth_client, make_integration, fake_github, repo):
    integration = make_integration(sync_workflows=True)
    fake_github.add_run(repo, conclusion="failure")
    from apps.integrations_external.github.tasks import sync_pull_requests

    sync_pull_requests.delay(integration.pk)
    resp = auth_client.get(f"{BASE}{integration.pk}/workflow-runs/")

    assert resp.status_code == 200
    assert [r["conclusion"] for r in resp.data["results"]] == ["failure"]


def test_api_story_issue_201_and_200_for_the_same_issue(auth_client, integration, project, repo):
    # then: 201 on the first call, 200 with the same issue on the second
    story = UserStoryFactory(project=project)
    url = f"/api/v1/user-stories/{story.pk}/create-github-issue/"

    first = auth_client.post(url)
    second = auth_client.post(url)

    assert first.status_code == 201
    assert second.status_code == 200
    assert first.data["issue_number"] == second.data["issue_number"] == 1
    assert len(repo.issues) == 1
    story_view = auth_client.get(f"/api/v1/user-stories/{story.pk}/github/")
    assert story_view.data["issues"][0]["issue_url"] == repo.issues[0]["html_url"]


def test_api_story_issue_of_invisible_project_is_404(client_for, other_user, integration, project):
    story = UserStoryFactory(project=project)
    client = client_for(other_user)

    assert client.post(f"/api/v1/user-stories/{story.pk}/create-github-issue/").status_code == 404
    assert client.get(f"/api/v1/user-stories/{story.pk}/github/").status_code == 404
    assert not GitHubIssueLink.objects.exists()


def test_api_story_issue_without_integration_is_400(auth_client, user):
    story = UserStoryFactory(project=ProjectFactory(owner=user))

    resp = auth_client.post(f"/api/v1/user-stories/{story.pk}/create-github-issue/")

    assert resp.status_code == 400
    assert "integration" in resp.data


def test_story_github_view_lists_linked_pull_requests(
    auth_client, integration, project, fake_github, repo, run_on_commit
):
    story = UserStoryFactory(project=project)
    fake_github.add_pull(repo, head=f"{story.key}-x")
    with run_on_commit():
        auth_client.post(f"{BASE}{integration.pk}/sync-prs/")

    resp = auth_client.get(f"/api/v1/user-stories/{story.pk}/github/")

    assert resp.status_code == 200
    assert [pr["number"] for pr in resp.data["pull_requests"]] == [1]


def test_admin_masks_token_and_runs_verify_action(client, staff_user, integration, fake_github):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    change = client.get(f"/admin/integrations_external/githubintegration/{integration.pk}/change/")
    assert change.status_code == 200
    assert fake_github.token not in change.content.decode()

    resp = client.post(
        "/admin/integrations_external/githubintegration/",
        {"action": "verify", "_selected_action": [integration.pk]},
        follow=True,
    )

    assert resp.status_code == 200
    integration.refresh_from_db()
    assert integration.last_verification_ok is True
