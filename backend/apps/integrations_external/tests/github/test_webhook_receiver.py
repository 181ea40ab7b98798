"""POST /api/v1/integrations-external/github/{id}/webhook/: signature first, then the events."""

import hashlib
import hmac
import json
import uuid

import pytest

from apps.integrations_external.models import Event
from apps.integrations_external.models.github import (
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
    GitHubWorkflowRun,
)
from apps.integrations_external.services.github_webhooks import signature_is_valid
from apps.projects.tests.factories import UserStoryFactory

pytestmark = pytest.mark.django_db


def test_github_documented_test_vector_verifies():
    secret = "It's a Secret to Everybody"
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_is_valid(secret, b"Hello, World!", header) is True
    assert signature_is_valid(secret, b"Hello, World?", header) is False
    assert signature_is_valid(secret, b"Hello, World!", None) is False
    assert signature_is_valid(secret, b"Hello, World!", "sha256=é") is False


@pytest.fixture
def send(api_client):
    def post(integration, event, payload, *, delivery=None, secret=None, signature=None):
        body = json.dumps(payload).encode()
        key = (secret or integration.webhook_secret).encode()
        headers = {
            "HTTP_X_GITHUB_EVENT": event,
            "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
        }
        if signature != "omit":
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature or (
                "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            )
        return api_client.post(
            f"/api/v1/integrations-external/github/{integration.pk}/webhook/",
            data=body,
            content_type="application/json",
            **headers,
        )

    return post


def pr_payload(number=7, *, title="Fix", head="feature", merged=False, action="opened"):
    return {
        "action": "closed" if merged else action,
        "number": number,
        "pull_request": {
            "id": 99,
            "number": number,
            "title": title,
            "body": "",
            "state": "closed" if merged else "open",
            "merged": merged,
            "draft": False,
            "user": {"login": "octocat"},
            "head": {"ref": head},
            "base": {"ref": "main"},
            "html_url": f"https://github.example/acme/shop/pull/{number}",
            "created_at": "2026-01-01T10:00:00Z",
            "updated_at": "2026-01-02T10:00:00Z",
            "merged_at": "2026-01-02T10:00:00Z" if merged else None,
            "closed_at": "2026-01-02T10:00:00Z" if merged else None,
        },
    }


def test_given_missing_signature_then_401_and_nothing_stored(integration, send):
    resp = send(integration, "pull_request", pr_payload(), signature="omit")

    assert resp.status_code == 401
    assert not GitHubPullRequest.objects.exists()
    assert not GitHubWebhookDelivery.objects.exists()


def test_given_wrong_secret_then_401_and_nothing_stored(integration, send):
    resp = send(integration, "pull_request", pr_payload(), secret="not-the-secret")

    assert resp.status_code == 401
    assert not GitHubPullRequest.objects.exists()


def test_given_signed_ping_then_answered(integration, send):
    resp = send(integration, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})

    assert resp.status_code == 200
    assert resp.json()["event"] == "ping"


def test_given_signed_pull_request_then_mirror_upserted(integration, send, project):
    story = UserStoryFactory(project=project)

    resp = send(integration, "pull_request", pr_payload(head=f"{story.key.lower()}-search"))

    assert resp.status_code == 200
    pr = GitHubPullRequest.objects.get(integration=integration, number=7)
    assert pr.state == "open" and pr.head_ref.endswith("-search")
    assert list(pr.stories.all()) == [story]


def test_given_repeated_delivery_id_then_ignored(integration, send):
    delivery = str(uuid.uuid4())
    send(integration, "pull_request", pr_payload(title="First"), delivery=delivery)

    resp = send(integration, "pull_request", pr_payload(title="Replayed"), delivery=delivery)

    assert resp.status_code == 200 and resp.json()["duplicate"] is True
    assert GitHubPullRequest.objects.get(number=7).title == "First"
    assert GitHubWebhookDelivery.objects.filter(delivery_id=delivery).count() == 1


def test_given_linked_pr_merged_then_platform_event_published(
    integration, send, project, run_on_commit
):
    story = UserStoryFactory(project=project)
    send(integration, "pull_request", pr_payload(title=f"{story.key} checkout"))

    with run_on_commit():
        resp = send(
            integration, "pull_request", pr_payload(title=f"{story.key} checkout", merged=True)
        )

    assert resp.status_code == 200
    assert GitHubPullRequest.objects.get(number=7).state == "merged"
    event = Event.objects.get(type="github.pull_request.merged")
    assert event.project_id == project.pk
    assert event.data["pull_request"]["number"] == 7
    assert event.data["user_stories"] == [{"id": story.pk, "key": story.key, "title": story.title}]


def test_given_unlinked_pr_merged_then_no_event(integration, send):
    send(integration, "pull_request", pr_payload(merged=True))

    assert GitHubPullRequest.objects.get(number=7).state == "merged"
    assert not Event.objects.filter(type="github.pull_request.merged").exists()


def test_given_issues_event_for_linked_issue_then_story_link_updated(integration, send, project):
    story = UserStoryFactory(project=project)
    GitHubIssueLink.objects.create(
        integration=integration, story=story, state="created", issue_number=3, issue_state="open"
    )
    payload = {
        "action": "closed",
        "issue": {"number": 3, "state": "closed", "title": "Done", "html_url": "https://x/3"},
    }

    resp = send(integration, "issues", payload)

    assert resp.status_code == 200
    link = GitHubIssueLink.objects.get(story=story)
    assert (link.issue_state, link.issue_title) == ("closed", "Done")


def test_given_workflow_run_and_sync_workflows_then_mirrored(make_integration, repo, send):
    integration = make_integration(sync_workflows=True)
    run = {"id": 555, "name": "CI", "run_number": 4, "status": "completed", "conclusion": "failure"}

    resp = send(integration, "workflow_run", {"action": "completed", "workflow_run": run})

    assert resp.status_code == 200
    mirrored = GitHubWorkflowRun.objects.get(integration=integration, run_id=555)
    assert (mirrored.name, mirrored.conclusion) == ("CI", "failure")


def test_given_workflow_run_without_sync_workflows_then_204(integration, send):
    resp = send(integration, "workflow_run", {"workflow_run": {"id": 1}})

    assert resp.status_code == 204
    assert not GitHubWorkflowRun.objects.exists()


def test_given_unhandled_event_then_204(integration, send):
    resp = send(integration, "star", {"action": "created"})

    assert resp.status_code == 204


def test_given_unknown_integration_then_404(integration, send):
    integration.pk = 999999
    assert send(integration, "ping", {}).status_code == 404
