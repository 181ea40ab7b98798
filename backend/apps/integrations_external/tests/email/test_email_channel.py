"""The email channel end to end: publish → engine → Django's SMTP backend → a real SMTP server."""

from __future__ import annotations

import pytest

from apps.integrations_external.email.services import settings_for
from apps.integrations_external.models import EmailDelivery
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import deliver
from apps.projects.tests.factories import UserFactory
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory

pytestmark = pytest.mark.django_db


def _workflow_failed(project, name="Deploy"):
    return {
        "workflow": {"id": 7, "name": name},
        "project": {"id": project.pk, "name": project.name},
        "execution": {"id": 41, "status": "failed", "error_message": "exit 3 <in step 'build'>"},
        "previous_status": "completed",
    }


def test_email_channel_failed_workflow_sends_multipart_email(
    user, project, client_for, run_on_commit, smtp_server
):
    # when: the workflow completes as failed over the API
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project, name="Deploy"))

    with run_on_commit():
        resp = client_for(user).post(
            f"/api/v1/workflow-executions/{execution.pk}/fail/", {"error_message": "disk full"}
        )

    assert resp.status_code == 200
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [user.email]
    assert mail["Subject"] == f"[{project.name}] Workflow “Deploy” failed"
    assert mail["From"] == "Workflow Platform <noreply@platform.example.com>"
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "disk full" in mail.text
    assert "disk full" in mail.html
    link = f"https://platform.example.com/workflow-executions/{execution.pk}/"
    assert link in mail.text
    assert link in mail.html
    delivery = EmailDelivery.objects.get(recipient=user)
    assert delivery.status == "success"
    assert delivery.subject == mail["Subject"]
    assert delivery.message_id == mail["Message-ID"]
    assert delivery.message_id.endswith("@platform.example.com>")


def test_email_channel_has_one_click_unsubscribe_and_a_link(
    user, project, run_on_commit, smtp_server
):
    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)

    [mail] = smtp_server.wait_for(1)
    header = mail["List-Unsubscribe"]
    assert header.startswith(
        "<https://platform.example.com/api/v1/integrations-external/email/unsubscribe/"
    )
    assert header.endswith(">")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    assert url in mail.text
    assert f'href="{url}"' in mail.html


def test_email_channel_escapes_user_input_in_html_only(user, project, run_on_commit, smtp_server):
    with run_on_commit():
        publish(
            "workflow.failed", _workflow_failed(project, name="<script>x</script>"), project=project
        )

    [mail] = smtp_server.wait_for(1)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "exit 3 <in step 'build'>" in mail.text


def test_email_channel_deliver_task_twice_sends_one_email(
    user, project, run_on_commit, smtp_server
):
    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)
    smtp_server.wait_for(1)
    delivery = EmailDelivery.objects.get(recipient=user)

    deliver("email", [delivery.pk])  # a retried (re-delivered) task message
    deliver("email", [delivery.pk])

    assert len(smtp_server.messages) == 1
    assert len(delivery.attempt_history()) == 1


def test_email_channel_constraint_refuses_a_second_fan_out(
    user, project, run_on_commit, smtp_server
):
    # given: the same event fanned out twice
    from django.db import IntegrityError, transaction

    from apps.integrations_external.pipeline.events import fan_out

    with run_on_commit():
        event = publish("workflow.failed", _workflow_failed(project), project=project)

    with pytest.raises(IntegrityError), transaction.atomic():
        fan_out(event, {"email": [settings_for(user)]})
    assert EmailDelivery.objects.filter(event=event, recipient=user).count() == 1
    assert len(smtp_server.wait_for(1)) == 1


def test_email_channel_arrives_once_smtp_comes_back(
    user, project, run_on_commit, smtp_server, run_retry
):
    # given: the SMTP server is down at first
    smtp_server.stop()
    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)
    delivery = EmailDelivery.objects.get(recipient=user)
    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert "refused" in delivery.error_message.lower()

    smtp_server.start()
    delivery = run_retry(delivery)

    assert delivery.status == "success"
    [mail] = smtp_server.wait_for(1)
    assert mail["Message-ID"] == delivery.message_id
    assert [a.outcome for a in delivery.attempt_history()] == ["retry", "success"]


def test_email_channel_recipient_4xx_retries_until_accepted(
    user, project, run_on_commit, smtp_server, run_retry
):
    smtp_server.refuse(user.email, "450 4.2.1 Mailbox busy, try later")
    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)
    delivery = EmailDelivery.objects.get(recipient=user)
    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    assert delivery.response_status == 450

    smtp_server.rcpt_replies.clear()
    delivery = run_retry(delivery)

    assert delivery.status == "success"
    assert len(smtp_server.wait_for(1)) == 1


def test_email_channel_4xx_after_data_retries(user, project, run_on_commit, smtp_server, run_retry):
    smtp_server.data_replies = ["451 4.3.0 Temporary local problem"]
    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)
    delivery = EmailDelivery.objects.get(recipient=user)

    delivery = run_retry(delivery)

    assert delivery.status == "success"
    assert [a.response_status for a in delivery.attempt_history()] == [451, None]


def test_email_channel_recipient_5xx_fails_without_retry(user, project, run_on_commit, smtp_server):
    member = UserFactory()
    project.members.add(member)
    smtp_server.refuse(member.email, "550 5.1.1 No such user here")

    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)

    refused = EmailDelivery.objects.get(recipient=member)
    assert refused.status == "failed"
    assert refused.response_status == 550
    assert "No such user" in refused.error_message
    [attempt] = refused.attempt_history()
    assert attempt.outcome == "failed"
    deliver("email", [refused.pk])  # even when the task comes round again
    assert len(refused.attempt_history()) == 1
    # The other recipient is not affected.
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [[user.email]]
    assert EmailDelivery.objects.get(recipient=user).status == "success"


def test_email_channel_unsubscribe_while_waiting_stops_it(
    user, project, run_on_commit, smtp_server, run_retry
):
    smtp_server.stop()
    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)
    delivery = EmailDelivery.objects.get(recipient=user)
    row = settings_for(user)
    row.workflow_completion = False
    row.save()

    smtp_server.start()
    delivery = run_retry(delivery)

    assert delivery.status == "failed"
    assert "turned workflow_completion off" in delivery.error_message
    assert smtp_server.messages == []


def test_email_channel_without_host_writes_under_var_mail(
    user, project, run_on_commit, settings, tmp_path
):
    # given: no EMAIL_HOST, so the file-based backend
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)

    with run_on_commit():
        publish("workflow.failed", _workflow_failed(project), project=project)

    [written] = list(tmp_path.iterdir())
    content = written.read_text()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in content
    assert EmailDelivery.objects.get(recipient=user).status == "success"
