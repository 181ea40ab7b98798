"""A new story's issue goes through the engine (github/channel.py): a delivery with attempts,
retried after GitHub's rate limit, shown in the API and the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from apps.integrations_external.catalog import user_story_data
from apps.integrations_external.github.models import GitHubIssueDelivery, GitHubIssueLink
from apps.integrations_external.github.views import GitHubIntegrationViewSet
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver
from apps.projects.services import user_story_create
from apps.projects.tests.factories import UserFactory, UserStoryFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/integrations-external/github/"


def _as(request, user):
    force_authenticate(request, user=user)
    return request


def _story_created(user, project, run_on_commit):
    with run_on_commit():
        return user_story_create(actor=user, project=project, title="Search")


def test_issue_delivery_records_success_with_attempt(
    make_integration, project, user, repo, run_on_commit
):
    integration = make_integration(auto_create_issues=True)

    story = _story_created(user, project, run_on_commit)

    delivery = GitHubIssueDelivery.objects.get(integration=integration, story=story)
    assert delivery.status == "success"
    assert delivery.issue_number == repo.issues[0]["number"]
    [attempt] = delivery.attempt_history()
    assert (attempt.outcome, attempt.response_status) == ("success", 201)


def test_issue_delivery_rate_limited_retries_after_reset(
    make_integration, project, user, repo, fake_github, run_on_commit
):
    # given GitHub answers the issue POST with a secondary rate limit of 90 s
    integration = make_integration(auto_create_issues=True)
    fake_github.limit_next("secondary", seconds=90)
    before = timezone.now()

    # when the story is created, then the delivery waits for the limit, no issue yet
    story = _story_created(user, project, run_on_commit)
    delivery = GitHubIssueDelivery.objects.get(integration=integration, story=story)
    assert delivery.status == "retrying"
    assert delivery.attempt_number == 1
    assert 89 <= (delivery.next_attempt_at - before).total_seconds() <= 92
    assert repo.issues == []

    # when the limit has passed and the delivery is due, then the issue is created once
    integration.refresh_from_db()
    GitHubIssueDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    integration.rate_limited_until = timezone.now() - timedelta(seconds=1)
    integration.save(update_fields=["rate_limited_until"])
    deliver("github", [delivery.pk])
    deliver("github", [delivery.pk])  # a redelivered message finds it done

    delivery.refresh_from_db()
    assert delivery.status == "success"
    assert [a.outcome for a in delivery.attempt_history()] == ["retry", "success"]
    assert len(repo.issues) == 1
    assert GitHubIssueLink.objects.get(story=story).state == "created"


def test_issue_delivery_inactive_integration_fails(
    make_integration, project, user, repo, run_on_commit
):
    integration = make_integration(auto_create_issues=True)
    story = UserStoryFactory(project=project)
    integration.is_active = False
    integration.save(update_fields=["is_active"])

    with run_on_commit():
        publish(
            "user_story.created",
            user_story_data(story),
            project=project,
            targets={"github": [integration]},
        )

    delivery = GitHubIssueDelivery.objects.get(story=story)
    assert delivery.status == "failed"
    assert "switched off" in delivery.error_message
    assert repo.issues == []


def test_issue_deliveries_api_lists_history(
    make_integration, project, user, repo, client_for, other_user, run_on_commit
):
    integration = make_integration(auto_create_issues=True)
    story = _story_created(user, project, run_on_commit)

    # The action, called as the API's router will route it (GET …/github/<pk>/issue-deliveries/).
    view = GitHubIntegrationViewSet.as_view({"get": "issue_deliveries"})
    url = f"{BASE}{integration.pk}/issue-deliveries/"
    factory = APIRequestFactory()
    answer = view(_as(factory.get(url), user), pk=integration.pk)
    hidden = view(_as(factory.get(url), other_user), pk=integration.pk)

    assert answer.status_code == 200
    [row] = answer.data["results"]
    assert (row["story"], row["status"], row["issue_number"]) == (story.pk, "success", 1)
    assert row["attempts"][0]["outcome"] == "success"
    assert hidden.status_code == 404


def test_issue_delivery_admin_shows_attempts(
    client, make_integration, project, user, repo, run_on_commit
):
    make_integration(auto_create_issues=True)
    _story_created(user, project, run_on_commit)
    delivery = GitHubIssueDelivery.objects.get()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = client.get("/admin/integrations_external/githubissuedelivery/")
    page = client.get(f"/admin/integrations_external/githubissuedelivery/{delivery.pk}/change/")

    assert listing.status_code == 200
    assert page.status_code == 200
    assert b"GitHub issue deliveries" in listing.content
