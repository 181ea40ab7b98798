"""sync-prs/ queues one task (202) whose state the integration shows; the task runs once per
request; a sync has an overall deadline; calls inside a web request share a 10 s budget; a base
URL answering 200 with something that is not JSON is an answer, not a 500."""

import json

import pytest

from apps.integrations_external.github.models import GitHubPullRequest
from apps.integrations_external.github.tasks import sync_pull_requests
from tests_support.fake_github import RawReply

pytestmark = pytest.mark.django_db
BASE = "/api/v1/integrations-external/github/"


def slow(body: object, *, seconds: float = 3.0) -> RawReply:
    """A JSON answer dripped over about `seconds`: each byte comes well within a read timeout."""
    data = json.dumps(body).encode()
    return RawReply(200, data, {"Content-Type": "application/json"}, seconds / len(data))


def test_sync_prs_twice_before_the_worker_queues_one_task(
    auth_client, integration, fake_github, repo, django_capture_on_commit_callbacks
):
    fake_github.add_pull(repo)

    with django_capture_on_commit_callbacks() as queued:
        first = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")
        second = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")

    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.data["queued"], second.data["queued"]) == (True, False)
    assert second.data["sync_state"] == "queued"
    assert len(queued) == 1
    assert fake_github.calls == []  # nothing called GitHub inside the web request


def test_sync_task_delivered_twice_second_sees_work_done(
    auth_client, integration, fake_github, repo, django_capture_on_commit_callbacks
):
    fake_github.add_pull(repo)
    with django_capture_on_commit_callbacks() as queued:
        auth_client.post(f"{BASE}{integration.pk}/sync-prs/")

    queued[0]()
    queued[0]()  # the broker redelivers the same message

    assert len(fake_github.requests_to("GET", "/pulls")) == 1
    integration.refresh_from_db()
    assert integration.sync_state == "succeeded"
    assert integration.sync_started_at <= integration.sync_finished_at


def test_sync_task_exits_while_another_sync_runs(integration, fake_github, repo):
    from django.utils import timezone

    integration.sync_state = "running"
    integration.sync_started_at = timezone.now()
    integration.save()

    sync_pull_requests.delay(integration.pk)

    assert fake_github.calls == []


def test_sync_past_its_deadline_fails_storing_nothing(integration, fake_github, repo, settings):
    settings.GITHUB_SYNC_DEADLINE_SECONDS = 1
    pull = fake_github.add_pull(repo)
    fake_github.reply_next(slow([pull]))

    sync_pull_requests.delay(integration.pk)

    integration.refresh_from_db()
    assert integration.sync_state == "failed"
    assert "time allowed" in integration.sync_error
    assert not GitHubPullRequest.objects.exists()


def test_verify_dripping_answer_ended_by_request_budget(
    auth_client, integration, fake_github, repo, settings
):
    # given: GitHub drips its answer
    settings.GITHUB_REQUEST_BUDGET_SECONDS = 1
    fake_github.reply_next(slow({"full_name": "acme/shop", "permissions": {"admin": True}}))

    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.status_code == 200
    assert resp.data["ok"] is False
    assert "time allowed" in resp.data["detail"]


def test_create_webhook_dripping_answer_ended_by_budget(
    auth_client, integration, fake_github, repo, settings
):
    # given: GitHub drips its answer
    # then: the request budget ends it
    settings.GITHUB_REQUEST_BUDGET_SECONDS = 1
    fake_github.reply_next(slow({"id": 5, "events": [], "config": {}}))

    resp = auth_client.post(f"{BASE}{integration.pk}/create-webhook/")

    assert resp.status_code == 502
    assert "time allowed" in resp.data["detail"]
    integration.refresh_from_db()
    assert integration.hook_id is None


NOT_JSON = RawReply(200, b"<html>Welcome to nginx!</html>", {"Content-Type": "text/html"})


def test_verify_200_not_json_says_so(auth_client, integration, fake_github):
    # given: an API base answering 200 with something not JSON
    fake_github.reply_next(NOT_JSON)

    resp = auth_client.post(f"{BASE}{integration.pk}/verify/")

    assert resp.status_code == 200
    assert resp.data["ok"] is False
    assert "not GitHub's JSON" in resp.data["detail"]
    assert "nginx" not in resp.data["detail"]


@pytest.mark.parametrize(
    "reply",
    [NOT_JSON, RawReply(200, b'{"not": "a list"}', {"Content-Type": "application/json"})],
)
def test_sync_200_not_json_fails_with_the_reason(
    auth_client, integration, fake_github, repo, run_on_commit, reply
):
    # given: an API base answering 200 with something not JSON
    fake_github.reply_next(reply)

    with run_on_commit():
        resp = auth_client.post(f"{BASE}{integration.pk}/sync-prs/")

    assert resp.status_code == 202
    shown = auth_client.get(f"{BASE}{integration.pk}/").data
    assert shown["sync_state"] == "failed"
    assert "not GitHub's JSON" in shown["sync_error"]


def test_sync_skips_and_counts_unusable_items(integration, fake_github, repo):
    good = fake_github.add_pull(repo)
    bad = [
        {**good, "number": 2, "created_at": "2026-13-01T00:00:00Z"},
        {**good, "number": 10**30},
        "number",
    ]
    fake_github.reply_next(RawReply(200, json.dumps([good, *bad]).encode()))

    sync_pull_requests.delay(integration.pk)

    integration.refresh_from_db()
    assert integration.sync_state == "succeeded"
    assert integration.last_sync_result["created"] == 1
    assert integration.last_sync_result["skipped"] == 3


def test_story_issue_unusable_number_is_400_not_500(auth_client, integration, project, fake_github):
    # given: GitHub answers with an unusable issue number
    from apps.projects.tests.factories import UserStoryFactory

    story = UserStoryFactory(project=project)
    fake_github.reply_next(RawReply(201, b'{"number": 1e30, "html_url": "https://x/1"}'))

    resp = auth_client.post(f"/api/v1/user-stories/{story.pk}/create-github-issue/")

    assert resp.status_code == 400
    assert "unusable" in resp.data["detail"]


def test_create_webhook_odd_fields_201_without_remote_data(auth_client, integration, fake_github):
    # given: GitHub answers the hook with odd fields
    odd = {"id": "7", "events": "everything", "config": "SECRET-IN-BODY"}
    fake_github.reply_next(RawReply(201, json.dumps(odd).encode()))

    resp = auth_client.post(f"{BASE}{integration.pk}/create-webhook/")

    assert resp.status_code == 201
    assert resp.data["hook_id"] is None
    assert resp.data["events"] == ["pull_request", "issues", "workflow_run"]
    assert "SECRET-IN-BODY" not in json.dumps(resp.data)
