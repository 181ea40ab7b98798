"""A member's GitHub integration stops acting on the project the moment they stop being a member
(or are deactivated): no issues from the project's stories, no pull requests linked to its stories
or merge events published into it, no story titles in their mirror."""

import hashlib
import hmac
import json
import uuid

import pytest

from apps.integrations_external.github.models import GitHubIssueLink, GitHubPullRequest
from apps.integrations_external.github.tasks import sync_pull_requests
from apps.integrations_external.models import Event
from apps.projects.tests.factories import UserFactory, UserStoryFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/integrations-external/github/"


@pytest.fixture
def member(project):
    member = UserFactory()
    project.members.add(member)
    return member


@pytest.fixture
def members_integration(make_integration, member, repo):
    return make_integration(owner=member, auto_create_issues=True)


def leave(how: str, project, member, client_for) -> None:
    if how == "removed":  # the owner removes them, over the API
        owner = client_for(project.owner)
        resp = owner.patch(f"/api/v1/projects/{project.pk}/", {"members": []}, format="json")
        assert resp.status_code == 200
    else:
        member.is_active = False
        member.save()


def signed_post(api_client, integration, payload: dict):
    body = json.dumps(payload).encode()
    signature = hmac.new(integration.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return api_client.post(
        f"{BASE}{integration.pk}/webhook/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
        HTTP_X_HUB_SIGNATURE_256=f"sha256={signature}",
    )


def merged_pr(story) -> dict:
    return {
        "action": "closed",
        "pull_request": {
            "number": 7,
            "title": f"{story.key} acquisition",
            "state": "closed",
            "merged": True,
            "merged_at": "2026-01-02T10:00:00Z",
        },
    }


def test_membership_members_integration_issues_owners_story(
    auth_client, project, members_integration, repo, run_on_commit
):
    # when: the owner creates a story
    # then: the member's integration creates its issue
    with run_on_commit():
        resp = auth_client.post(
            "/api/v1/user-stories/", {"project": project.pk, "title": "Checkout"}, format="json"
        )

    assert resp.status_code == 201
    assert [issue["title"] for issue in repo.issues] == [f"US-{resp.data['id']}: Checkout"]


@pytest.mark.parametrize("how", ["removed", "deactivated"])
def test_membership_leaver_repository_gets_no_issue(
    auth_client, client_for, project, member, members_integration, repo, run_on_commit, how
):
    # when: the owner creates a story after the member left
    leave(how, project, member, client_for)

    with run_on_commit():
        resp = auth_client.post(
            "/api/v1/user-stories/",
            {"project": project.pk, "title": "Confidential: acquisition"},
            format="json",
        )

    assert resp.status_code == 201
    assert repo.issues == []
    assert not GitHubIssueLink.objects.exists()


def test_membership_leaving_after_task_queued_means_no_issue(
    auth_client, client_for, project, member, members_integration, repo,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with django_capture_on_commit_callbacks() as queued:
        auth_client.post(
            "/api/v1/user-stories/", {"project": project.pk, "title": "Secret"}, format="json"
        )
    leave("removed", project, member, client_for)

    for callback in queued:
        callback()

    assert repo.issues == []


def test_membership_leaver_story_issue_request_is_400(
    auth_client, client_for, project, member, members_integration, repo
):
    story = UserStoryFactory(project=project)
    leave("removed", project, member, client_for)

    resp = auth_client.post(f"/api/v1/user-stories/{story.pk}/create-github-issue/")

    assert resp.status_code == 400
    assert repo.issues == []
    assert not GitHubIssueLink.objects.exists()


@pytest.mark.parametrize("how", ["removed", "deactivated"])
def test_membership_leaver_pr_webhook_changes_nothing(
    api_client, client_for, project, member, members_integration, run_on_commit, how
):
    # then: nothing is linked or published
    story = UserStoryFactory(project=project)
    leave(how, project, member, client_for)

    with run_on_commit():
        resp = signed_post(api_client, members_integration, merged_pr(story))

    # 404 once leaving also deactivates the integration; either way nothing is applied.
    assert resp.status_code in (403, 404)
    assert not GitHubPullRequest.stories.through.objects.exists()
    assert not Event.objects.filter(type__startswith="github.pull_request").exists()


def test_membership_member_pr_webhook_links_and_publishes(
    api_client, project, members_integration, run_on_commit
):
    story = UserStoryFactory(project=project)

    with run_on_commit():
        resp = signed_post(api_client, members_integration, merged_pr(story))

    assert resp.status_code == 200
    assert Event.objects.filter(type="github.pull_request.merged").exists()


def test_membership_leaver_mirror_shows_no_story_titles(
    api_client, client_for, project, member, members_integration
):
    story = UserStoryFactory(project=project, title="Confidential: acquisition")
    signed_post(api_client, members_integration, merged_pr(story))  # linked while a member
    leave("removed", project, member, client_for)

    resp = client_for(member).get(f"{BASE}{members_integration.pk}/pull-requests/")

    assert "Confidential" not in json.dumps(resp.data)
    if resp.status_code == 200:  # (404 where former members lose sight of the integration)
        assert [row["stories"] for row in resp.data["results"]] == [[]]
    else:
        assert resp.status_code == 404


def test_membership_leaver_sync_fails_and_links_nothing(
    client_for, project, member, members_integration, fake_github, repo
):
    story = UserStoryFactory(project=project)
    fake_github.add_pull(repo, title=f"{story.key} acquisition", merged=True)
    leave("removed", project, member, client_for)

    sync_pull_requests.delay(members_integration.pk)

    members_integration.refresh_from_db()
    assert members_integration.sync_state != "succeeded"
    if members_integration.sync_state == "failed":
        assert "no longer has access" in members_integration.sync_error
    assert not GitHubPullRequest.objects.exists()
    assert fake_github.calls == []
