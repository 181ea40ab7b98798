"""create_issue_from_story: one story, one issue, however often or concurrently it is asked for."""

import threading

import pytest
from django.db import connection

from apps.integrations_external.catalog import user_story_data
from apps.integrations_external.github.models import GitHubIssueDelivery, GitHubIssueLink
from apps.integrations_external.github.services import GitHubService, issue_body
from apps.integrations_external.http.errors import RateLimited
from apps.integrations_external.pipeline.events import publish
from apps.projects.services import user_story_create
from apps.projects.tests.factories import UserStoryFactory

pytestmark = pytest.mark.django_db


def test_story_issue_body_links_back_and_link_recorded(
    integration, project, fake_github, repo, settings
):
    settings.PUBLIC_BASE_URL = "https://hub.example"
    story = UserStoryFactory(project=project, title="Checkout", description="Pay by card")

    result = GitHubService(integration).create_issue_from_story(story=story)

    [post] = fake_github.requests_to("POST", "/repos/acme/shop/issues")
    sent = post.json()
    assert sent["title"] == f"{story.key}: Checkout"
    assert f"https://hub.example/stories/{story.pk}/" in sent["body"]
    assert "Pay by card" in sent["body"]
    assert result.created is True
    link = GitHubIssueLink.objects.get(story=story)
    assert link.state == "created"
    assert link.issue_number == repo.issues[0]["number"]
    assert link.issue_url == repo.issues[0]["html_url"]


def test_story_issue_retried_three_times_stays_one_issue(
    integration, project, fake_github, repo, run_on_commit
):
    story = UserStoryFactory(project=project)

    results = [GitHubService(integration).create_issue_from_story(story=story) for _ in range(3)]
    for _ in range(3):  # three deliveries of the channel for the same story, each sent
        with run_on_commit():
            publish(
                "user_story.created",
                user_story_data(story),
                project=project,
                targets={"github": [integration]},
            )

    assert len(repo.issues) == 1
    assert len(fake_github.requests_to("POST", "/issues")) == 1
    assert [r.created for r in results] == [True, False, False]
    assert {r.link.issue_number for r in results} == {repo.issues[0]["number"]}
    assert GitHubIssueLink.objects.filter(story=story).count() == 1
    assert list(GitHubIssueDelivery.objects.values_list("status", flat=True)) == ["success"] * 3


@pytest.mark.django_db(transaction=True)
def test_story_issue_concurrent_calls_post_once_to_github(
    make_integration, project, fake_github, repo
):
    integration = make_integration()
    story = UserStoryFactory(project=project)
    fake_github.issue_delay = 0.3  # GitHub is slow: the others arrive while the first is in flight
    outcomes: list[str] = []

    def call() -> None:
        try:
            result = GitHubService(integration).create_issue_from_story(story=story)
            outcomes.append("created" if result.created else "existing")
        except Exception as exc:  # Busy: someone else is creating it
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(fake_github.requests_to("POST", "/issues")) == 1
    assert outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "existing", "Busy"}
    assert GitHubIssueLink.objects.get(story=story).state == "created"


def test_story_issue_retry_adopts_issue_of_interrupted_attempt(
    integration, project, fake_github, repo
):
    story = UserStoryFactory(project=project)
    service = GitHubService(integration)
    # An earlier attempt created the issue on GitHub, then its worker died before recording it.
    fake_github.issue_delay = 0
    issue = service.client.create_issue("acme", "shop", title="x", body=issue_body(story))
    GitHubIssueLink.objects.create(integration=integration, story=story, claimed_at=None)

    result = GitHubService(integration).create_issue_from_story(story=story)

    assert len(repo.issues) == 1
    assert result.link.issue_number == issue["number"]
    assert result.link.state == "created"


def test_story_issue_rate_limit_releases_claim_for_the_retry(
    integration, project, fake_github, repo
):
    story = UserStoryFactory(project=project)
    fake_github.limit_next("secondary", seconds=1)
    with pytest.raises(RateLimited):
        GitHubService(integration).create_issue_from_story(story=story)
    assert not GitHubIssueLink.objects.filter(story=story).exists()
    integration.refresh_from_db()
    integration.rate_limited_until = None
    integration.save()

    result = GitHubService(integration).create_issue_from_story(story=story)

    assert result.created
    assert len(repo.issues) == 1


def test_story_issue_auto_created_in_background(
    make_integration, project, user, repo, run_on_commit
):
    integration = make_integration(auto_create_issues=True)

    with run_on_commit():
        story = user_story_create(actor=user, project=project, title="Search")

    link = GitHubIssueLink.objects.get(story=story, integration=integration)
    assert link.state == "created"
    assert link.issue_number == 1
    assert repo.issues[0]["title"] == f"{story.key}: Search"


def test_story_issue_not_auto_created_if_off_or_other_project(
    make_integration, project, user, repo, run_on_commit
):
    make_integration(auto_create_issues=False)
    other = UserStoryFactory().project
    make_integration(project=other, auto_create_issues=True, owner=other.owner)

    with run_on_commit():
        user_story_create(actor=user, project=project, title="Search")

    assert repo.issues == []
    assert not GitHubIssueLink.objects.exists()
