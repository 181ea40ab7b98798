"""Domain signals → events: one event per transition, the catalog's data, never on rollback,
written in the action's transaction (the outbox), and a failing integration never breaks the
platform action."""

import os
import subprocess
import sys

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from apps.alerts.services import system_alert_raise
from apps.commands.models import Command, CommandExecution
from apps.commands.services import command_execution_complete
from apps.integrations_external.models import Event, WebhookDelivery
from apps.integrations_external.pipeline.tasks import sweep_deliveries
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.services import project_update, user_story_create
from apps.workflows.services import workflow_execution_complete, workflow_execution_fail
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory
from tests_support import services as test_services
from tests_support.crash_after_commit import CRASHED

pytestmark = pytest.mark.django_db


def test_signals_each_workflow_run_publishes_previous_status(user, project, run_on_commit):
    # then: one event per finished run, with the previous run's status
    workflow = WorkflowFactory(project=project)
    first, second = (WorkflowExecutionFactory(workflow=workflow) for _ in range(2))

    with run_on_commit():
        workflow_execution_fail(execution=first, actor=user, error_message="boom")
    with run_on_commit():
        workflow_execution_complete(execution=second, actor=user, result={"ok": True})

    failed, completed = Event.objects.order_by("occurred_at")
    assert failed.type == "workflow.failed"
    assert failed.data["previous_status"] is None
    assert completed.type == "workflow.completed"
    assert completed.data["previous_status"] == "failed"
    assert completed.data["execution"]["id"] == second.pk
    assert completed.project_id == project.pk
    assert completed.actor_id == user.pk


def test_signals_command_executed_has_status_and_exit_code(user, project, run_on_commit):
    command = Command.objects.create(project=project, name="build", command_line="make")
    execution = CommandExecution.objects.create(command=command, status="running", executed_by=user)

    with run_on_commit():
        command_execution_complete(execution=execution, actor=user, exit_code=2, output="x")

    [event] = Event.objects.all()
    assert event.type == "command.executed"
    assert (event.data["status"], event.data["exit_code"]) == ("failed", 2)


def test_signals_project_changes_and_new_story_published(user, project, run_on_commit):
    # then: the changed fields and the story are published
    with run_on_commit():
        project_update(project=project, actor=user, data={"name": "Renamed"})
    with run_on_commit():
        user_story_create(actor=user, project=project, title="As a user…")

    updated, created = Event.objects.order_by("occurred_at")
    assert updated.type == "project.updated"
    assert updated.data["changed_fields"] == ["name"]
    assert created.type == "user_story.created"
    assert created.data["user_story"]["title"] == "As a user…"


def test_signals_system_alert_published_once(run_on_commit):
    with run_on_commit():
        system_alert_raise(title="Disk full", severity="critical")

    [event] = Event.objects.all()
    assert event.type == "system.alert"
    assert event.data["alert"]["title"] == "Disk full"


def test_signals_rolled_back_completion_publishes_nothing(user, project, run_on_commit):
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    with run_on_commit():
        try:
            with transaction.atomic():
                workflow_execution_complete(execution=execution, actor=user)
                raise RuntimeError("the caller changes its mind")
        except RuntimeError:
            pass

    assert not Event.objects.exists()


def test_signals_uncommitted_completion_event_written_and_waits(
    user, project, receiver, django_capture_on_commit_callbacks
):
    WebhookEndpointFactory(owner=user, url=receiver.url)
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    with django_capture_on_commit_callbacks(execute=False):
        workflow_execution_complete(execution=execution, actor=user)
        # In the action's own transaction, before its commit: the outbox row is there...
        [event] = Event.objects.all()

    assert event.type == "workflow.completed"
    assert event.data["execution"]["status"] == "completed"
    # ...and only the fan-out waits for the commit.
    assert event.fanned_out_at is None
    assert not WebhookDelivery.objects.exists()


def test_signals_raising_receiver_still_lets_the_api_answer_200(
    user, project, client_for, run_on_commit, caplog
):
    from apps.workflows.signals import workflow_execution_finished

    def broken_integration(sender, **kwargs):
        raise RuntimeError("integration down")

    workflow_execution_finished.connect(broken_integration, weak=False)
    try:
        execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))
        with run_on_commit():
            response = client_for(user).post(
                f"/api/v1/workflow-executions/{execution.pk}/complete/"
            )
    finally:
        workflow_execution_finished.disconnect(broken_integration)

    assert response.status_code == 200
    assert "integration down" in caplog.text
    assert Event.objects.filter(type="workflow.completed").count() == 1  # ours still ran


def test_signals_sweeper_delivers_event_of_lost_commit_hooks(
    transactional_db, user, project, receiver, settings
):
    # given: the process dies between the commit and its on_commit hooks
    settings.DELIVERY_SWEEP_INTERVAL_SECONDS = 0  # the test plays beat: it calls the sweeper
    endpoint = WebhookEndpointFactory(owner=user, url=receiver.url)
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    crashed = subprocess.run(
        [sys.executable, "-m", "tests_support.crash_after_commit", str(execution.pk), str(user.pk)],
        cwd=test_services.BACKEND_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "core.settings.test",
            "DATABASE_URL": test_services.test_database_url(),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert crashed.returncode == CRASHED, crashed.stderr[-3000:]
    execution.refresh_from_db()
    assert execution.status == "completed"  # the action committed, its hooks never ran
    [event] = Event.objects.all()  # ...and its event committed with it
    assert (event.type, event.fanned_out_at) == ("workflow.completed", None)

    sweep_deliveries()

    [request] = receiver.wait_for(1)
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["id"] == event.id
    assert payload["data"]["execution"]["status"] == "completed"
    assert payload["data"]["execution"]["result"] == {"crash": True}
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "success"
