"""sync_pull_requests: all pages via Link, upsert counts, ETag/304, story links."""

import pytest

from apps.integrations_external.github.mirror import story_keys
from apps.integrations_external.github.models import GitHubPullRequest
from apps.integrations_external.github.services import GitHubService
from apps.integrations_external.models import Event
from apps.projects.tests.factories import UserStoryFactory

pytestmark = pytest.mark.django_db


def test_story_keys_found_in_any_case_and_not_inside_other_words():
    assert story_keys("Fix us-12 and US-7", None, "feature/Us-3-login") == {12, 7, 3}
    assert story_keys("BUS-4 and US-") == set()


def test_sync_250_prs_follows_three_pages_creating_all(integration, fake_github, repo):
    for i in range(250):
        fake_github.add_pull(repo, minutes_ago=i)

    counts = GitHubService(integration).sync_pull_requests()

    pulls = fake_github.requests_to("GET", "/repos/acme/shop/pulls")
    assert len(pulls) == 3
    assert pulls[0].query["state"] == ["all"]
    assert pulls[0].query["per_page"] == ["100"]
    assert [c.query.get("page", ["1"])[0] for c in pulls] == ["1", "2", "3"]
    assert counts["created"] == 250
    assert counts["updated"] == 0
    assert counts["pages"] == 3
    assert GitHubPullRequest.objects.filter(integration=integration).count() == 250


def test_sync_unchanged_repository_304_costs_no_rate_limit(integration, fake_github, repo):
    for i in range(250):
        fake_github.add_pull(repo, minutes_ago=i)
    service = GitHubService(integration)
    service.sync_pull_requests()
    spent = fake_github.rate_spent

    counts = GitHubService(integration).sync_pull_requests()

    assert counts == {
        "created": 0,
        "updated": 0,
        "unchanged": 250,
        "not_modified": True,
        "pages": 1,
        "requests": 1,
    }
    last = fake_github.calls[-1]
    assert last.status == 304
    assert last.headers["if-none-match"] == integration.pulls_etag
    assert fake_github.rate_spent == spent


def test_sync_one_changed_pr_counts_updated_and_unchanged(integration, fake_github, repo):
    for i in range(5):
        fake_github.add_pull(repo, minutes_ago=i)
    GitHubService(integration).sync_pull_requests()
    fake_github.update_pull(repo, 2, title="Renamed")
    fake_github.add_pull(repo, title="New one")

    counts = GitHubService(integration).sync_pull_requests()

    assert (counts["created"], counts["updated"], counts["unchanged"]) == (1, 1, 4)
    assert GitHubPullRequest.objects.get(integration=integration, number=2).title == "Renamed"


def test_sync_links_prs_by_keys_in_title_branch_or_body(integration, project, fake_github, repo):
    a, b, c = UserStoryFactory.create_batch(3, project=project)
    elsewhere = UserStoryFactory()  # another project's story is never linked
    fake_github.add_pull(repo, title=f"Fix login ({a.key.lower()})")
    fake_github.add_pull(repo, head=f"feature/{b.key}-cart")
    fake_github.add_pull(repo, body=f"Implements {c.key} and {elsewhere.key}")

    GitHubService(integration).sync_pull_requests()

    linked = {
        pr.number: {s.pk for s in pr.stories.all()}
        for pr in GitHubPullRequest.objects.filter(integration=integration)
    }
    assert linked == {1: {a.pk}, 2: {b.pk}, 3: {c.pk}}


def test_sync_mirrors_merged_and_closed_states(integration, fake_github, repo):
    fake_github.add_pull(repo, merged=True)
    fake_github.add_pull(repo, state="closed")
    fake_github.add_pull(repo)

    GitHubService(integration).sync_pull_requests()

    states = dict(
        GitHubPullRequest.objects.filter(integration=integration).values_list("number", "state")
    )
    assert states == {1: "merged", 2: "closed", 3: "open"}
    merged = GitHubPullRequest.objects.get(integration=integration, number=1)
    assert merged.merged_at is not None
    assert merged.author == "octocat"


def test_sync_first_run_announces_no_past_merge(integration, project, fake_github, repo):
    # then: nothing is announced until a new merge
    old, still_open = UserStoryFactory.create_batch(2, project=project)
    fake_github.add_pull(repo, title=f"Old work {old.key}", merged=True, minutes_ago=60 * 24 * 90)
    fake_github.add_pull(repo, title=f"In review {still_open.key}")

    GitHubService(integration).sync_pull_requests()

    assert GitHubPullRequest.objects.get(integration=integration, number=1).state == "merged"
    assert not Event.objects.filter(type="github.pull_request.merged").exists()

    fake_github.update_pull(
        repo, 2, state="closed", merged_at="2026-01-02T03:04:05Z", closed_at="2026-01-02T03:04:05Z"
    )
    GitHubService(integration).sync_pull_requests()

    [event] = Event.objects.filter(type="github.pull_request.merged")
    assert event.data["pull_request"]["number"] == 2
    assert event.data["user_stories"] == [
        {"id": still_open.pk, "key": still_open.key, "title": still_open.title}
    ]
