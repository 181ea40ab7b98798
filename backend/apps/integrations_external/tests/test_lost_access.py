"""A removed member's integrations stop acting on the project at once (issue 11, item 2)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.integrations_external.github.models import GitHubIntegration, GitHubPullRequest
from apps.integrations_external.models import SlackIntegration, WebhookDelivery, WebhookEndpoint
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.tests.slack.factories import SlackIntegrationFactory
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory, UserStoryFactory
from tests_support.fake_github import fake_github  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

API = "/api/v1/integrations-external"


@pytest.fixture
def team(db):
    owner, member = UserFactory(username="olivia"), UserFactory(username="mallory")
    return owner, member, ProjectFactory(owner=owner, members=[member], name="Payments")


@pytest.fixture
def members_github(team, fake_github):  # noqa: F811
    """A GitHub integration the member added (when members could) with auto_create_issues."""
    _, member, project = team
    fake_github.add_repo("mallory", "leaks")
    return GitHubIntegration.objects.create(
        owner=member,
        project=project,
        repository_owner="mallory",
        repository_name="leaks",
        access_token=fake_github.token,
        api_base_url=fake_github.base_url,
        auto_create_issues=True,
    )


def test_lost_access_github_posts_no_story_and_says_why(
    client_for,
    team,
    members_github,
    fake_github,  # noqa: F811
    run_on_commit,
):
    # given: a member removed from the project
    owner, member, project = team
    as_owner = client_for(owner)

    removed = as_owner.patch(f"/api/v1/projects/{project.pk}/", {"members": []}, format="json")
    with run_on_commit():
        story = as_owner.post(
            "/api/v1/user-stories/",
            {"project": project.pk, "title": "Confidential: acquisition"},
            format="json",
        )

    assert removed.status_code == 200
    assert story.status_code == 201
    assert fake_github.requests_to("POST", "/issues") == []
    shown = as_owner.get(f"{API}/github/{members_github.pk}/").json()
    assert shown["is_active"] is False
    assert "mallory" in shown["disabled_reason"]
    assert "Payments" in shown["disabled_reason"]
    assert client_for(member).get(f"{API}/github/{members_github.pk}/").status_code == 404


def test_lost_access_leaver_integrations_stop_deliveries_end(client_for, team):
    # given: a member who leaves the project
    # then: their project-scoped integrations stop and open deliveries end
    owner, member, project = team
    endpoint = WebhookEndpointFactory(owner=member, project=project, url="http://127.0.0.1:9/x")
    slack = SlackIntegrationFactory(owner=member, project=project)
    elsewhere = WebhookEndpointFactory(owner=member, project=ProjectFactory(owner=member))
    event = publish("webhook.test", {"n": 1}, project=project, targets={})
    pending = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, event_type="workflow.completed", status="retrying"
    )

    resp = client_for(member).post(f"/api/v1/projects/{project.pk}/leave/")

    assert resp.status_code == 204
    rows = [WebhookEndpoint.objects.get(pk=endpoint.pk), SlackIntegration.objects.get(pk=slack.pk)]
    for row in rows:
        assert row.is_active is False
        assert "mallory" in row.disabled_reason
    assert WebhookEndpoint.objects.get(pk=elsewhere.pk).is_active is True
    pending.refresh_from_db()
    assert pending.status == "failed"
    assert pending.next_attempt_at is None
    shown = client_for(owner).get(f"{API}/slack/{slack.pk}/").json()
    assert "no longer a member" in shown["disabled_reason"]


def test_lost_access_turning_removed_members_integration_on_400(client_for, team, members_github):
    owner, _, project = team
    client_for(owner).patch(f"/api/v1/projects/{project.pk}/", {"members": []}, format="json")

    resp = client_for(owner).patch(
        f"{API}/github/{members_github.pk}/", {"is_active": True}, format="json"
    )

    assert resp.status_code == 400
    assert "is_active" in resp.json()
    assert GitHubIntegration.objects.get(pk=members_github.pk).is_active is False


def test_lost_access_staff_integration_keeps_acting(client_for, team):
    # given: a staff member removed from the members
    owner, _, project = team
    staff = UserFactory(is_staff=True)
    project.members.add(staff)
    slack = SlackIntegrationFactory(owner=staff, project=project)

    client_for(owner).patch(f"/api/v1/projects/{project.pk}/", {"members": []}, format="json")

    assert SlackIntegration.objects.get(pk=slack.pk).is_active is True


def test_lost_access_unscoped_endpoint_gets_no_project_event(client_for, team, run_on_commit):
    # given: a removed member's endpoint without a project
    owner, member, project = team
    endpoint = WebhookEndpointFactory(
        owner=member, project=None, url="http://127.0.0.1:9/x", custom_events=["*"]
    )
    client_for(owner).patch(f"/api/v1/projects/{project.pk}/", {"members": []}, format="json")

    with run_on_commit():
        resp = client_for(owner).post(
            f"{API}/events/", {"type": "deploy.finished", "project": project.pk}, format="json"
        )

    assert resp.status_code == 202
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active is True  # theirs, unscoped


def test_lost_access_turning_integration_on_clears_the_reason(client_for, team):
    owner, _, project = team
    slack = SlackIntegrationFactory(
        owner=owner,
        project=project,
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="Turned off by hand.",
    )

    resp = client_for(owner).patch(f"{API}/slack/{slack.pk}/", {"is_active": True}, format="json")

    assert resp.status_code == 200
    assert resp.json()["disabled_reason"] == ""
    assert resp.json()["disabled_at"] is None


def test_lost_access_story_hides_removed_members_pull_requests(client_for, team, members_github):
    owner, _, project = team
    story = UserStoryFactory(project=project)
    pull = GitHubPullRequest.objects.create(
        integration=members_github, number=7, title=f"{story.key} fix", state="open"
    )
    pull.stories.add(story)
    url = f"/api/v1/user-stories/{story.pk}/github/"
    assert len(client_for(owner).get(url).json()["pull_requests"]) == 1

    client_for(owner).patch(f"/api/v1/projects/{project.pk}/", {"members": []}, format="json")

    assert client_for(owner).get(url).json()["pull_requests"] == []
