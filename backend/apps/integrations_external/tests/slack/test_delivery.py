"""Notifications reach Slack through the shared delivery engine: once, paced, retried when
Slack says so, and never again when the integration itself is broken."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.commands.tests.factories import CommandExecutionFactory, CommandFactory
from apps.integrations_external.models import SlackDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver
from apps.integrations_external.slack import channel as slack_channel
from apps.integrations_external.tests.slack.conftest import run_when_due
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.integrations_external.tests.slack.test_messages import ANGRY, cut_and_shown
from apps.projects.tests.factories import ProjectFactory
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory
from tests_support.slack_limits import slack_limit_problems

pytestmark = pytest.mark.django_db


def workflow_event(project, status="completed", previous_status=None, error=""):
    return {
        "workflow": {"id": 7, "name": "Deploy"},
        "project": {"id": project.pk, "name": project.name},
        "execution": {"id": 70, "status": status, "duration_seconds": 12.5, "error_message": error},
        "previous_status": previous_status,
    }


def test_delivery_workflow_over_api_posts_one_block_kit_message(
    user, project, client_for, run_on_commit, slack, integration
):
    slack.add_channel("C0OTHER001", "other")
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project, name="Deploy"))

    with run_on_commit():
        resp = client_for(user).post(f"/api/v1/workflow-executions/{execution.pk}/complete/")
    assert resp.status_code == 200

    [call] = slack.calls_to("chat.postMessage")
    assert call.token == BOT_TOKEN
    assert call.params["channel"] == "C0BUILDS01"
    assert "Deploy" in call.params["text"]
    assert "completed" in call.params["text"]
    blocks = call.params["blocks"]
    assert blocks[0]["type"] == "header"
    assert "Deploy" in blocks[0]["text"]["text"]
    assert slack_limit_problems({"text": call.params["text"], "blocks": blocks}) == []
    assert any(f"/workflow-executions/{execution.pk}/" in str(b) for b in blocks)
    assert slack.channels["C0OTHER001"].messages == []
    delivery = SlackDelivery.objects.get(integration=integration)
    assert delivery.status == "success"
    assert delivery.message_ts == call.answer["ts"]
    assert len(delivery.attempt_history()) == 1


def test_delivery_rate_limited_retries_after_retry_after_once(
    user, project, run_on_commit, slack, integration, time_machine
):
    # then: retried after Retry-After and posted once
    slack.fail_next("chat.postMessage", status=429, headers={"Retry-After": "1"})

    with run_on_commit():
        publish("workflow.completed", workflow_event(project), project=project, actor=user)
    delivery = SlackDelivery.objects.get(integration=integration)
    assert delivery.status == "retrying"
    first_try = slack.calls_to("chat.postMessage")[0].at
    assert 0.8 <= (delivery.next_attempt_at.timestamp() - first_try) <= 1.5

    run_when_due(delivery, time_machine)

    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert 0.9 <= calls[1].at - calls[0].at <= 3.0
    assert len(slack.posted()) == 1
    assert delivery.status == "success"
    assert [a.outcome for a in delivery.attempt_history()] == ["retry", "success"]
    integration.refresh_from_db()
    assert integration.is_healthy


def test_delivery_5xx_retries_with_backoff_until_posted(
    user, project, run_on_commit, slack, integration, settings, time_machine
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.SLACK_MIN_SEND_INTERVAL_SECONDS = 0
    slack.fail_next("chat.postMessage", status=503, body=b"<html>upstream</html>")
    slack.fail_next("chat.postMessage", status=200, error="internal_error")

    with run_on_commit():
        publish("workflow.failed", workflow_event(project, "failed"), project=project, actor=user)
    delivery = SlackDelivery.objects.get(integration=integration)
    for _ in range(2):
        assert delivery.status == "retrying"
        run_when_due(delivery, time_machine)

    assert delivery.status == "success"
    assert [a.outcome for a in delivery.attempt_history()] == ["retry", "retry", "success"]
    assert len(slack.posted()) == 1


@pytest.mark.parametrize(
    ("break_it", "words"),
    [
        (lambda s: s.tokens.clear(), "Invalid token"),
        (lambda s: s.inactive_tokens.add(BOT_TOKEN), "Invalid token"),
        (lambda s: s.channels.clear(), "Channel not found"),
        (lambda s: setattr(s.channels["C0BUILDS01"], "is_member", False), "/invite"),
        (lambda s: setattr(s.channels["C0BUILDS01"], "is_archived", True), "archived"),
    ],
)
def test_delivery_broken_target_fails_and_marks_unhealthy(
    user, project, run_on_commit, slack, integration, client_for, break_it, words
):
    # then: failed without retry, integration unhealthy
    break_it(slack)

    with run_on_commit():
        publish("workflow.completed", workflow_event(project), project=project, actor=user)

    delivery = SlackDelivery.objects.get(integration=integration)
    assert delivery.status == "failed"
    assert len(delivery.attempt_history()) == 1
    assert words in delivery.error_message
    deliver("slack", [delivery.pk])  # nothing left to do
    assert len(slack.calls_to("chat.postMessage")) == 1
    body = client_for(user).get(f"/api/v1/integrations-external/slack/{integration.pk}/").json()
    assert body["is_healthy"] is False
    assert words in body["health_reason"]
    # Routing skips it from now on.
    with run_on_commit():
        publish("workflow.completed", workflow_event(project), project=project, actor=user)
    assert SlackDelivery.objects.filter(integration=integration).count() == 1


def test_delivery_test_message_success_restores_health(
    user, run_on_commit, slack, integration, client_for
):
    slack_channel.mark_unhealthy(integration.pk, "Bot not in the channel")

    with run_on_commit():
        resp = client_for(user).post(
            f"/api/v1/integrations-external/slack/{integration.pk}/test-message/"
        )

    assert resp.status_code == 202
    delivery = SlackDelivery.objects.get(pk=resp.json()["id"])
    assert delivery.event_type == "webhook.test"
    assert delivery.status == "success"
    [call] = slack.posted()
    assert "Test message" in call.params["text"]
    integration.refresh_from_db()
    assert integration.is_healthy


def test_delivery_two_messages_one_channel_second_waits_1s(
    user, project, run_on_commit, slack, integration, time_machine
):
    # given: two messages for one channel sent together
    with run_on_commit():
        publish("workflow.completed", workflow_event(project), project=project, actor=user)
        publish("workflow.failed", workflow_event(project, "failed"), project=project, actor=user)

    first, second = SlackDelivery.objects.filter(integration=integration).order_by("pk")
    assert first.status == "success"
    assert second.status == "pending"
    assert second.attempt_number == 0
    assert len(second.attempt_history()) == 0
    run_when_due(second, time_machine)
    assert second.status == "success"
    calls = slack.posted()
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 0.9


def test_delivery_pacing_slot_taken_makes_other_worker_wait(integration, time_machine):
    assert slack_channel.reserve_send_slot(integration.pk, interval=1.0) == 0.0

    wait = slack_channel.reserve_send_slot(integration.pk, interval=1.0)

    assert 0.5 < wait <= 1.0
    time_machine.move_to(timezone.now() + timedelta(seconds=wait))
    assert slack_channel.reserve_send_slot(integration.pk, interval=1.0) == 0.0


# --- who receives what -----------------------------------------------------------------------
def _published(project, user, run_on_commit, event_type, data):
    with run_on_commit():
        publish(event_type, data, project=project, actor=user)


def test_delivery_switch_off_sends_nothing(user, project, run_on_commit, slack):
    SlackIntegrationFactory(
        owner=user, notify_workflow_completion=False, notify_command_execution=True
    )

    _published(project, user, run_on_commit, "workflow.completed", workflow_event(project))

    assert slack.calls_to("chat.postMessage") == []
    assert SlackDelivery.objects.count() == 0


def test_delivery_alert_only_to_staff_with_switch_on(staff_user, user, run_on_commit, slack):
    on = SlackIntegrationFactory(owner=staff_user, notify_system_alerts=True)
    SlackIntegrationFactory(owner=staff_user, notify_system_alerts=False)
    SlackIntegrationFactory(owner=user, notify_system_alerts=True)
    from apps.alerts.services import system_alert_raise

    with run_on_commit():
        system_alert_raise(title="Disk almost full", message="93 % used", severity="warning")

    assert list(SlackDelivery.objects.values_list("integration_id", flat=True)) == [on.pk]
    [call] = slack.posted()
    assert "Disk almost full" in call.params["text"]


def test_delivery_failures_only_skips_the_success(user, project, run_on_commit, slack, settings):
    settings.SLACK_MIN_SEND_INTERVAL_SECONDS = 0
    SlackIntegrationFactory(owner=user, notify_only_failures=True)

    _published(
        project,
        user,
        run_on_commit,
        "workflow.completed",
        workflow_event(project, previous_status="completed"),
    )
    _published(
        project,
        user,
        run_on_commit,
        "workflow.failed",
        workflow_event(project, "failed", error="boom"),
    )
    _published(
        project, user, run_on_commit, "command.executed", {"status": "succeeded", "exit_code": 0}
    )
    _published(
        project, user, run_on_commit, "command.executed", {"status": "failed", "exit_code": 2}
    )

    texts = [c.params["text"] for c in slack.posted()]
    assert len(texts) == 2
    assert "Deploy failed" in texts[0]
    assert "boom" in texts[0]
    assert "exit code 2" in texts[1]


def test_delivery_failures_only_sends_back_to_normal(user, project, run_on_commit, slack):
    SlackIntegrationFactory(owner=user, notify_only_failures=True)

    _published(
        project,
        user,
        run_on_commit,
        "workflow.completed",
        workflow_event(project, previous_status="failed"),
    )

    [call] = slack.posted()
    assert "Back to normal" in call.params["text"]
    assert "Back to normal" in call.params["blocks"][0]["text"]["text"]


def test_delivery_success_after_failure_says_back_to_normal(
    user, project, client_for, run_on_commit, slack, settings
):
    # given: a run failed, then the next completed, over the API
    settings.SLACK_MIN_SEND_INTERVAL_SECONDS = 0
    SlackIntegrationFactory(owner=user)
    workflow = WorkflowFactory(project=project, name="Nightly")
    failed = WorkflowExecutionFactory(workflow=workflow)
    with run_on_commit():
        client_for(user).post(
            f"/api/v1/workflow-executions/{failed.pk}/fail/", {"error_message": "tests red"}
        )
    fixed = WorkflowExecutionFactory(workflow=workflow)
    with run_on_commit():
        client_for(user).post(f"/api/v1/workflow-executions/{fixed.pk}/complete/")

    texts = [c.params["text"] for c in slack.posted()]
    assert len(texts) == 2
    assert "Nightly failed" in texts[0]
    assert "tests red" in texts[0]
    assert texts[1].startswith("Back to normal: workflow Nightly")


def test_delivery_project_scope_sends_only_that_project(
    user, project, run_on_commit, slack, settings
):
    settings.SLACK_MIN_SEND_INTERVAL_SECONDS = 0
    other_project = ProjectFactory(owner=user, name="Elsewhere")
    SlackIntegrationFactory(owner=user, project=project)

    _published(project, user, run_on_commit, "workflow.completed", workflow_event(project))
    _published(
        other_project, user, run_on_commit, "workflow.completed", workflow_event(other_project)
    )

    [call] = slack.posted()
    assert project.name in call.params["text"]


def test_delivery_someone_elses_project_not_sent(user, other_user, run_on_commit, slack):
    foreign = ProjectFactory(owner=other_user)
    SlackIntegrationFactory(owner=user)

    _published(foreign, other_user, run_on_commit, "workflow.completed", workflow_event(foreign))

    assert slack.calls == []


def test_delivery_huge_command_output_fits_with_marker(
    user, project, client_for, run_on_commit, slack
):
    from apps.commands.tests.factories import CommandExecutionFactory, CommandFactory

    SlackIntegrationFactory(owner=user)
    execution = CommandExecutionFactory(command=CommandFactory(project=project, name="x" * 200))
    output = "".join(f"line {i} <&> {'y' * 80}\n" for i in range(5000)) + "FATAL: the real reason"

    with run_on_commit():
        client_for(user).post(
            f"/api/v1/command-executions/{execution.pk}/complete/",
            {"exit_code": 1, "output": output},
        )

    [call] = slack.posted()
    assert (
        slack_limit_problems({"text": call.params["text"], "blocks": call.params["blocks"]}) == []
    )
    rendered = str(call.params["blocks"])
    assert "FATAL: the real reason" in rendered
    assert "earlier characters cut" in rendered or "earlier output cut" in rendered
    assert len(call.params["blocks"][0]["text"]["text"]) <= 150


@pytest.mark.parametrize(
    "size",
    [
        10_000,  # the reported case: kept whole by the platform, cut for Slack
        100_000,  # beyond the 64 KiB the platform keeps: its head is gone before Slack's cut
    ],
)
def test_delivery_output_marker_counts_every_printed_char(
    user, project, client_for, run_on_commit, slack, size
):
    SlackIntegrationFactory(owner=user)
    execution = CommandExecutionFactory(command=CommandFactory(project=project))
    reason = "\nFATAL: the reason"
    output = (ANGRY * (size // len(ANGRY) + 1))[: size - len(reason)] + reason

    with run_on_commit():
        client_for(user).post(
            f"/api/v1/command-executions/{execution.pk}/complete/",
            {"exit_code": 1, "output": output},
        )

    [call] = slack.posted()
    [output_text] = [
        b["text"]["text"]
        for b in call.params["blocks"]
        if b.get("text", {}).get("text", "").startswith("*Output*")
    ]
    cut, shown = cut_and_shown(output_text)
    assert output.endswith(shown)
    assert shown.endswith("FATAL: the reason")
    assert cut == len(output) - len(shown)
    assert len(output_text) <= 3000  # Slack's section text limit
