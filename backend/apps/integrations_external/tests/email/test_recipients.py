"""Who gets which email: project members (owner included) whose switch is on; system alerts
to staff with system_alerts on."""

from __future__ import annotations

import pytest

from apps.commands.tests.factories import CommandExecutionFactory, CommandFactory
from apps.integrations_external.email.services import (
    email_queue_command_notification,
    email_queue_workflow_notification,
    settings_for,
)
from apps.integrations_external.pipeline.events import publish
from apps.projects.tests.factories import ProjectFactory, UserFactory
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory

pytestmark = pytest.mark.django_db

SWITCH_OF_EVENT = [
    ("workflow.completed", "workflow_completion"),
    ("workflow.failed", "workflow_completion"),
    ("command.executed", "command_execution"),
    ("project.updated", "project_updates"),
    ("user_story.created", "project_updates"),
]


@pytest.fixture
def team(user, project):
    """The project's owner (`user`), a member with the switch on, one with it off, an outsider."""
    on, off, outsider = UserFactory(), UserFactory(), UserFactory()
    project.members.add(on, off)
    return {"owner": user, "on": on, "off": off, "outsider": outsider}


def _recipients(smtp_server, count):
    return sorted(addr for m in smtp_server.wait_for(count) for addr in m.rcpt_tos)


@pytest.mark.parametrize(("event_type", "switch"), SWITCH_OF_EVENT)
def test_recipients_project_event_only_members_with_switch_on(
    event_type, switch, team, project, run_on_commit, smtp_server
):
    for person in ("owner", "on"):
        row = settings_for(team[person])
        setattr(row, switch, True)
        row.save()
    row = settings_for(team["off"])
    setattr(row, switch, False)
    row.save()
    settings_for(team["outsider"])  # switch on by default or not: not a member either way

    with run_on_commit():
        publish(event_type, {"project": {"id": project.pk, "name": project.name}}, project=project)

    assert _recipients(smtp_server, 2) == sorted([team["owner"].email, team["on"].email])
    assert len(smtp_server.messages) == 2


def test_recipients_default_switches_for_unopened_settings(
    team, project, run_on_commit, smtp_server
):
    # given: members who never opened their settings
    # Defaults: workflow notifications on, project updates off.
    with run_on_commit():
        publish("workflow.completed", {}, project=project)
        publish("project.updated", {}, project=project)

    mails = smtp_server.wait_for(3)
    assert len(mails) == 3  # owner and both members, once each
    assert all(" Workflow " in m["Subject"] for m in mails)


def test_recipients_member_without_address_gets_nothing(project, run_on_commit, smtp_server):
    no_address = UserFactory(email="")
    project.members.add(no_address)

    with run_on_commit():
        publish("workflow.completed", {}, project=project)

    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [[project.owner.email]]


def test_recipients_system_alert_only_staff_with_switch_on(
    user, staff_user, run_on_commit, smtp_server
):
    quiet_staff = UserFactory(is_staff=True)
    row = settings_for(quiet_staff)
    row.system_alerts = False
    row.save()
    settings_for(user)  # not staff: system_alerts on by default, still nothing

    with run_on_commit():
        publish(
            "system.alert",
            {"alert": {"id": 1, "severity": "critical", "title": "Disk full", "message": "/var"}},
        )

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [staff_user.email]
    assert mail["Subject"] == "[Workflow Platform] Critical alert: Disk full"


def test_recipients_queue_workflow_notification_emails_only(
    user, project, run_on_commit, smtp_server
):
    # then: email recipients get it, webhook endpoints do not
    from apps.integrations_external.models import EmailDelivery, WebhookDelivery
    from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory

    WebhookEndpointFactory(owner=user)
    execution = WorkflowExecutionFactory(
        workflow=WorkflowFactory(project=project, name="Nightly"), status="completed"
    )

    with run_on_commit():
        email_queue_workflow_notification(execution=execution)

    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == f"[{project.name}] Workflow “Nightly” completed"
    assert EmailDelivery.objects.count() == 1
    assert WebhookDelivery.objects.count() == 0


def test_recipients_queue_command_notification_its_members(user, run_on_commit, smtp_server):
    # given: a command in another project
    # then: that project's members get it
    other = ProjectFactory()
    execution = CommandExecutionFactory(
        command=CommandFactory(project=other, name="Build"), status="failed", exit_code=2
    )

    with run_on_commit():
        email_queue_command_notification(execution=execution)

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [other.owner.email]
    assert mail["Subject"] == f"[{other.name}] Command “Build” failed (exit 2)"
