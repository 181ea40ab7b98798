"""Teams notifications go through the shared engine: routed by the switches, filtered by
failures-only and back-to-normal, retried when Teams says so, stopped when it refuses for good."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.teams.models import TeamsDelivery
from apps.integrations_external.tests.teams.conftest import run_now
from apps.integrations_external.tests.teams.test_messages import command_data, workflow_data
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory

pytestmark = pytest.mark.django_db


def publish_workflow(project, user, **kwargs):
    return publish(
        "workflow.completed"
        if kwargs.get("status", "completed") == "completed"
        else "workflow.failed",
        workflow_data(**kwargs),
        project=project,
        actor=user,
    )


def test_channel_workflow_over_api_posts_one_valid_card(
    user, project, client_for, run_on_commit, teams, integration
):
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project, name="Deploy"))
    with run_on_commit():
        response = client_for(user).post(f"/api/v1/workflow-executions/{execution.pk}/complete/")
    assert response.status_code == 200
    [post] = teams.posts
    assert post.status == 202
    assert post.problems == []
    assert "Deploy" in post.card["body"][0]["text"]
    delivery = TeamsDelivery.objects.get(integration=integration)
    assert delivery.status == "success"
    assert delivery.response_status == 202
    integration.refresh_from_db()
    assert integration.last_message_at is not None


@pytest.mark.parametrize(
    ("switch", "event_type", "data"),
    [
        ("notify_workflow_completion", "workflow.completed", workflow_data()),
        ("notify_command_execution", "command.executed", command_data()),
        (
            "notify_project_updates",
            "project.updated",
            {"project": {"id": 1, "name": "P", "description": ""}, "changed_fields": ["name"]},
        ),
    ],
)
def test_channel_switch_off_sends_nothing(
    user, project, run_on_commit, teams, integration, switch, event_type, data
):
    setattr(integration, switch, False)
    integration.save()
    with run_on_commit():
        publish(event_type, data, project=project, actor=user)
    assert teams.posts == []
    assert not TeamsDelivery.objects.exists()


def test_channel_project_updates_switch_on_posts(user, project, run_on_commit, teams, integration):
    integration.notify_project_updates = True
    integration.save()
    with run_on_commit():
        publish(
            "project.updated",
            {
                "project": {"id": project.pk, "name": project.name, "description": ""},
                "changed_fields": ["name"],
            },
            project=project,
            actor=user,
        )
    assert len(teams.valid_posts()) == 1


def test_channel_failures_only_skips_success_sends_failure(
    user, project, run_on_commit, teams, integration
):
    integration.notify_only_failures = True
    integration.save()
    with run_on_commit():
        publish_workflow(project, user)
        publish("command.executed", command_data(), project=project, actor=user)
        publish_workflow(project, user, status="failed", error="boom")
        publish("command.executed", command_data(exit_code=3), project=project, actor=user)
    titles = [post.card["body"][0]["text"] for post in teams.valid_posts()]
    assert len(titles) == 2
    assert "failed" in titles[0]
    assert "exit code 3" in titles[1]


@pytest.mark.parametrize(("back_to_normal", "expected"), [(True, 1), (False, 0)])
def test_channel_failures_only_back_to_normal(
    user, project, run_on_commit, teams, integration, back_to_normal, expected
):
    integration.notify_only_failures = True
    integration.notify_back_to_normal = back_to_normal
    integration.save()
    with run_on_commit():
        publish_workflow(project, user, previous_status="failed")
    assert len(teams.valid_posts()) == expected
    if expected:
        assert "Back to normal" in teams.posts[0].card["body"][0]["text"]


def test_channel_other_project_not_routed(user, run_on_commit, teams, integration):
    from apps.projects.tests.factories import ProjectFactory

    other = ProjectFactory(owner=user)
    with run_on_commit():
        publish_workflow(other, user)
    assert teams.posts == []


def test_channel_429_retries_after_retry_after(user, project, run_on_commit, teams, integration):
    teams.fail_next(status=429, headers={"Retry-After": "30"})
    with run_on_commit():
        publish_workflow(project, user)
    delivery = TeamsDelivery.objects.get(integration=integration)
    assert delivery.status == "retrying"
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 25 <= wait <= 31

    run_now(delivery)

    assert [post.status for post in teams.posts] == [429, 202]
    assert delivery.status == "success"
    assert [a.outcome for a in delivery.attempt_history()] == ["retry", "success"]
    integration.refresh_from_db()
    assert integration.is_healthy


def test_channel_5xx_retries_with_backoff(user, project, run_on_commit, teams, integration):
    teams.fail_next(status=502, body="bad gateway")
    with run_on_commit():
        publish_workflow(project, user)
    delivery = TeamsDelivery.objects.get(integration=integration)
    assert delivery.status == "retrying"
    assert delivery.next_attempt_at > timezone.now()
    run_now(delivery)
    assert delivery.status == "success"


@override_settings(TEAMS_TIMEOUT_SECONDS=0.5)
def test_channel_hanging_teams_retries_within_timeout(
    user, project, run_on_commit, teams, integration
):
    teams.fail_next(hang=3.0)
    with run_on_commit():
        publish_workflow(project, user)
    delivery = TeamsDelivery.objects.get(integration=integration)
    assert delivery.status == "retrying"
    [attempt] = delivery.attempt_history()
    assert attempt.duration_ms < 2500
    assert "did not answer within 0.5 s" in attempt.error_message


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (400, "Teams refused the message (400)"),
        (401, "signature is no longer valid"),
        (403, "signature is no longer valid"),
        (404, "The workflow is gone (404)"),
    ],
)
def test_channel_permanent_error_marks_unhealthy_and_stops(
    user, project, run_on_commit, teams, integration, status, words
):
    teams.fail_next(status=status, body="nope")
    with run_on_commit():
        publish_workflow(project, user)
    delivery = TeamsDelivery.objects.get(integration=integration)
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert len(delivery.attempt_history()) == 1
    integration.refresh_from_db()
    assert not integration.is_healthy
    assert words in integration.health_reason
    # Routing skips it from now on, until a verification succeeds.
    with run_on_commit():
        publish_workflow(project, user)
    assert len(teams.posts) == 1


def test_channel_url_never_in_logs_or_api(
    user, project, run_on_commit, teams, integration, client_for, caplog
):
    caplog.set_level(logging.DEBUG)
    teams.fail_next(status=404)
    with run_on_commit():
        publish_workflow(project, user)
    client = client_for(user)
    bodies = [
        client.get(f"/api/v1/integrations-external/teams/{integration.pk}/").content,
        client.get("/api/v1/integrations-external/teams/").content,
        client.get(f"/api/v1/integrations-external/teams/{integration.pk}/deliveries/").content,
    ]
    for text in [caplog.text, *[b.decode() for b in bodies]]:
        assert "s3cr3t-sig" not in text
        assert "/workflows/abc123" not in text
    integration.refresh_from_db()
    assert "s3cr3t-sig" not in integration.health_reason
