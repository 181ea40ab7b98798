"""POST /api/v1/integrations-external/github/{id}/webhook/: signature first, then the events."""

import hashlib
import hmac
import json
import uuid

import pytest

from apps.integrations_external.github.models import (
    GitHubIssueLink,
    GitHubPullRequest,
    GitHubWebhookDelivery,
    GitHubWorkflowRun,
)
from apps.integrations_external.github.receiver import signature_is_valid
from apps.integrations_external.models import Event
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
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        key = (secret or integration.webhook_secret).encode()
        headers = {"HTTP_X_GITHUB_EVENT": event}
        if delivery != "omit":
            headers["HTTP_X_GITHUB_DELIVERY"] = delivery or str(uuid.uuid4())
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


def test_receiver_missing_signature_401_stores_nothing(integration, send):
    resp = send(integration, "pull_request", pr_payload(), signature="omit")

    assert resp.status_code == 401
    assert not GitHubPullRequest.objects.exists()
    assert not GitHubWebhookDelivery.objects.exists()


def test_receiver_wrong_secret_401_stores_nothing(integration, send):
    resp = send(integration, "pull_request", pr_payload(), secret="not-the-secret")

    assert resp.status_code == 401
    assert not GitHubPullRequest.objects.exists()


def test_receiver_answers_a_signed_ping(integration, send):
    resp = send(integration, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})

    assert resp.status_code == 200
    assert resp.json()["event"] == "ping"


def test_receiver_signed_pull_request_upserts_mirror(integration, send, project):
    story = UserStoryFactory(project=project)

    resp = send(integration, "pull_request", pr_payload(head=f"{story.key.lower()}-search"))

    assert resp.status_code == 200
    pr = GitHubPullRequest.objects.get(integration=integration, number=7)
    assert pr.state == "open"
    assert pr.head_ref.endswith("-search")
    assert list(pr.stories.all()) == [story]


def test_receiver_ignores_a_repeated_delivery_id(integration, send):
    delivery = str(uuid.uuid4())
    send(integration, "pull_request", pr_payload(title="First"), delivery=delivery)

    resp = send(integration, "pull_request", pr_payload(title="Replayed"), delivery=delivery)

    assert resp.status_code == 200
    assert resp.json()["duplicate"] is True
    assert GitHubPullRequest.objects.get(number=7).title == "First"
    assert GitHubWebhookDelivery.objects.filter(delivery_id=delivery).count() == 1


def test_receiver_linked_pr_merged_publishes_event(integration, send, project, run_on_commit):
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


def test_receiver_unlinked_pr_merged_publishes_nothing(integration, send):
    send(integration, "pull_request", pr_payload(merged=True))

    assert GitHubPullRequest.objects.get(number=7).state == "merged"
    assert not Event.objects.filter(type="github.pull_request.merged").exists()


def test_receiver_issues_event_updates_story_link(integration, send, project):
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


def test_receiver_workflow_run_mirrored_with_sync_workflows(make_integration, repo, send):
    integration = make_integration(sync_workflows=True)
    run = {"id": 555, "name": "CI", "run_number": 4, "status": "completed", "conclusion": "failure"}

    resp = send(integration, "workflow_run", {"action": "completed", "workflow_run": run})

    assert resp.status_code == 200
    mirrored = GitHubWorkflowRun.objects.get(integration=integration, run_id=555)
    assert (mirrored.name, mirrored.conclusion) == ("CI", "failure")


def test_receiver_workflow_run_without_sync_workflows_204(integration, send):
    resp = send(integration, "workflow_run", {"workflow_run": {"id": 1}})

    assert resp.status_code == 204
    assert not GitHubWorkflowRun.objects.exists()


def test_receiver_unhandled_event_is_204(integration, send):
    resp = send(integration, "star", {"action": "created"})

    assert resp.status_code == 204


def test_receiver_unknown_integration_is_404(integration, send):
    integration.pk = 999999
    assert send(integration, "ping", {}).status_code == 404


def _deep(depth: int) -> bytes:
    return b'{"action": "opened", "pull_request": ' + b"[" * depth + b"]" * depth + b"}"


def _pr_with(**changes) -> dict:
    payload = pr_payload()
    payload["pull_request"].update(changes)
    return payload


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("pull_request", {"action": "opened", "pull_request": "number"}),
        ("pull_request", json.dumps(_pr_with(number=1)).replace('"number": 1', '"number": 1e30')),
        ("pull_request", _pr_with(number=10**30)),
        ("pull_request", _pr_with(created_at="2026-13-01T10:00:00Z")),
        ("pull_request", _pr_with(title=["not", "text"], html_url="x" * 5000)),
        ("pull_request", _deep(5000)),
        ("issues", {"action": "closed", "issue": {"number": "3"}}),
        ("issues", {"action": "closed", "issue": {"number": 3, "state": {"deep": []}}}),
        ("pull_request", b"\xff\xfe not json"),
        ("pull_request", b"[1, 2]"),
    ],
    ids=[
        "pull_request-is-a-string",
        "number-1e30",
        "number-10e30",
        "month-13",
        "title-not-text",
        "deep-json",
        "issue-number-text",
        "issue-state-object",
        "not-json",
        "not-an-object",
    ],
)
def test_receiver_unusable_signed_payload_400_never_500(integration, send, event, payload):
    # then: 400 and recorded, never 500
    body = payload.encode() if isinstance(payload, str) else payload
    delivery = str(uuid.uuid4())

    resp = send(integration, event, body, delivery=delivery)

    assert resp.status_code == 400
    assert resp.json()["detail"]
    assert not GitHubPullRequest.objects.exists()
    recorded = GitHubWebhookDelivery.objects.get(delivery_id=delivery)
    assert recorded.error == resp.json()["detail"][:300]
    assert recorded.event == event


def test_receiver_signed_workflow_run_bad_fields_400_not_500(make_integration, repo, send):
    integration = make_integration(sync_workflows=True)
    run = {"id": 1.5, "name": "CI"}

    resp = send(integration, "workflow_run", {"action": "completed", "workflow_run": run})

    assert resp.status_code == 400
    assert not GitHubWorkflowRun.objects.exists()


def test_receiver_no_delivery_id_400_every_time_applies_none(
    integration, send, project, run_on_commit
):
    # given: a signed payload without a delivery id
    story = UserStoryFactory(project=project)
    payload = pr_payload(title=f"{story.key} checkout", merged=True)

    with run_on_commit():
        answers = [send(integration, "pull_request", payload, delivery="omit") for _ in range(3)]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "X-GitHub-Delivery" in answers[0].json()["detail"]
    assert not GitHubPullRequest.objects.exists()
    assert not GitHubWebhookDelivery.objects.exists()
    assert not Event.objects.filter(type="github.pull_request.merged").exists()


def test_receiver_unsigned_without_delivery_id_still_401(integration, send):
    resp = send(integration, "pull_request", pr_payload(), delivery="omit", signature="omit")

    assert resp.status_code == 401
