"""Workflows and their executions over HTTP: the state machine, its signal, visibility."""

import pytest
from django.db import transaction

from apps.projects.tests.factories import ProjectFactory
from apps.workflows import services
from apps.workflows.models import Workflow, WorkflowExecution
from apps.workflows.signals import workflow_execution_finished
from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory
from tests_support.transactions import RolledBack, roll_back

pytestmark = pytest.mark.django_db

WORKFLOWS = "/api/v1/workflows/"
EXECUTIONS = "/api/v1/workflow-executions/"


def execution_action(execution_id, action: str) -> str:
    return f"{EXECUTIONS}{execution_id}/{action}/"


@pytest.fixture
def finished(record_signal):
    return record_signal(workflow_execution_finished)


def create_and_execute(client) -> dict:
    project = client.post("/api/v1/projects/", {"name": "P"}).json()
    workflow = client.post(
        WORKFLOWS,
        {"project": project["id"], "name": "Deploy", "definition": {"steps": ["build", "ship"]}},
    )
    assert workflow.status_code == 201, workflow.content
    execution = client.post(f"{WORKFLOWS}{workflow.json()['id']}/execute/")
    assert execution.status_code == 201, execution.content
    return execution.json()


def test_workflows_api_full_flow_completes_signals_once(auth_client, user, finished, run_on_commit):
    # when: project, workflow, execute, complete, with a token
    execution = create_and_execute(auth_client)
    assert execution["status"] == "running"
    assert execution["started_at"] is not None
    assert finished == []

    with run_on_commit():
        resp = auth_client.post(
            execution_action(execution["id"], "complete"), {"result": {"deployed": "v1.2"}}
        )

    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["status"] == "completed"
    assert body["result"] == {"deployed": "v1.2"}
    assert body["completed_at"] is not None
    assert body["duration_seconds"] >= 0
    assert len(finished) == 1
    assert finished[0]["sender"] is WorkflowExecution
    assert finished[0]["execution"].pk == execution["id"]
    assert finished[0]["execution"].status == "completed"
    assert finished[0]["actor"] == user


def test_workflows_api_fail_keeps_message_signals_once(auth_client, finished, run_on_commit):
    execution = create_and_execute(auth_client)

    with run_on_commit():
        resp = auth_client.post(
            execution_action(execution["id"], "fail"), {"error_message": "step ship: timeout"}
        )

    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "failed"
    assert resp.json()["error_message"] == "step ship: timeout"
    assert [c["execution"].status for c in finished] == ["failed"]


def test_workflows_api_cancel_sends_no_finished_signal(auth_client, finished, run_on_commit):
    execution = create_and_execute(auth_client)

    with run_on_commit():
        resp = auth_client.post(execution_action(execution["id"], "cancel"))

    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "cancelled"
    assert finished == []


def test_workflows_api_complete_no_body_null_result(auth_client, project):
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    resp = auth_client.post(execution_action(execution.pk, "complete"))

    assert resp.status_code == 200
    assert resp.json()["result"] is None


@pytest.mark.parametrize("first", ["complete", "fail", "cancel"])
@pytest.mark.parametrize("second", ["complete", "fail", "cancel"])
def test_workflows_api_finish_twice_409_clear_message(
    auth_client, project, finished, run_on_commit, first, second
):
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))
    with run_on_commit():
        assert auth_client.post(execution_action(execution.pk, first)).status_code == 200
    signals_before = len(finished)

    with run_on_commit():
        resp = auth_client.post(execution_action(execution.pk, second))

    assert resp.status_code == 409
    assert "already" in resp.json()["detail"]
    assert len(finished) == signals_before
    execution.refresh_from_db()
    assert (
        execution.status
        == {"complete": "completed", "fail": "failed", "cancel": "cancelled"}[first]
    )


def test_workflows_api_execute_inactive_409(auth_client, project):
    workflow = WorkflowFactory(project=project, is_active=False)

    resp = auth_client.post(f"{WORKFLOWS}{workflow.pk}/execute/")

    assert resp.status_code == 409
    assert "inactive" in resp.json()["detail"]
    assert not WorkflowExecution.objects.exists()


def test_workflows_api_member_executes_shared_201(client_for, user, other_user):
    workflow = WorkflowFactory(project=ProjectFactory(owner=other_user, members=[user]))

    resp = client_for(user).post(f"{WORKFLOWS}{workflow.pk}/execute/")

    assert resp.status_code == 201
    assert resp.json()["triggered_by"] == user.pk


def test_workflows_api_other_users_workflow_404(auth_client, other_user):
    workflow = WorkflowFactory(project=ProjectFactory(owner=other_user))

    assert auth_client.get(f"{WORKFLOWS}{workflow.pk}/").status_code == 404
    assert auth_client.patch(f"{WORKFLOWS}{workflow.pk}/", {"name": "x"}).status_code == 404
    assert auth_client.delete(f"{WORKFLOWS}{workflow.pk}/").status_code == 404
    assert auth_client.post(f"{WORKFLOWS}{workflow.pk}/execute/").status_code == 404
    assert not WorkflowExecution.objects.exists()


@pytest.mark.parametrize("action", ["complete", "fail", "cancel"])
def test_workflows_api_other_users_execution_404(
    auth_client, other_user, finished, run_on_commit, action
):
    # then: 404, and the execution unchanged
    execution = WorkflowExecutionFactory(
        workflow=WorkflowFactory(project=ProjectFactory(owner=other_user))
    )

    assert auth_client.get(f"{EXECUTIONS}{execution.pk}/").status_code == 404
    with run_on_commit():
        resp = auth_client.post(execution_action(execution.pk, action), {"result": "x"})

    assert resp.status_code == 404
    execution.refresh_from_db()
    assert execution.status == "running"
    assert finished == []


def test_executions_api_list_visible_only(auth_client, project, other_user):
    mine = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))
    WorkflowExecutionFactory(workflow=WorkflowFactory(project=ProjectFactory(owner=other_user)))

    resp = auth_client.get(EXECUTIONS)

    assert resp.status_code == 200
    assert [e["id"] for e in resp.json()["results"]] == [mine.pk]
    assert resp.json()["results"][0]["project"] == project.pk


def test_executions_api_filter_by_status(auth_client, project):
    workflow = WorkflowFactory(project=project)
    done = WorkflowExecutionFactory(workflow=workflow, status="completed")
    WorkflowExecutionFactory(workflow=workflow)

    resp = auth_client.get(EXECUTIONS, {"status": "completed", "workflow": workflow.pk})

    assert [e["id"] for e in resp.json()["results"]] == [done.pk]


def test_executions_api_create_directly_405(auth_client):
    assert auth_client.post(EXECUTIONS, {}).status_code == 405


def test_workflows_api_create_in_invisible_project_400(auth_client, other_user):
    hidden = ProjectFactory(owner=other_user)

    resp = auth_client.post(WORKFLOWS, {"project": hidden.pk, "name": "Sneaky"})

    assert resp.status_code == 400
    assert "project" in resp.json()
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"definition": ["a", "list"]}, "definition"),
        ({"definition": "a string"}, "definition"),
        ({"definition": 42}, "definition"),
        ({"definition": None}, "definition"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"is_active": "sometimes"}, "is_active"),
        ({"project": 2**70}, "project"),
        ({"project": "one"}, "project"),
    ],
)
def test_workflows_api_create_bad_input_400_field_errors(auth_client, project, payload, field):
    resp = auth_client.post(WORKFLOWS, {"project": project.pk, "name": "W", **payload})

    assert resp.status_code == 400, resp.content
    assert field in resp.json()


def test_workflows_api_fail_long_error_message_400(auth_client, project):
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    resp = auth_client.post(execution_action(execution.pk, "fail"), {"error_message": "e" * 10_001})

    assert resp.status_code == 400
    assert "error_message" in resp.json()
    execution.refresh_from_db()
    assert execution.status == "running"


def test_workflow_execution_complete_signals_on_commit(
    project, user, finished, django_capture_on_commit_callbacks
):
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.workflow_execution_complete(execution=execution, actor=user, result={"ok": 1})
        assert finished == []

    assert finished == []
    for callback in callbacks:  # the signal's send, and the event's fan-out (the outbox)
        callback()
    assert len(finished) == 1


def test_workflow_execution_complete_rolled_back(
    project, user, finished, django_capture_on_commit_callbacks
):
    # then: no signal, and the execution still running
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RolledBack),
    ):
        roll_back(lambda: services.workflow_execution_complete(execution=execution, actor=user))

    assert callbacks == []
    assert finished == []
    execution.refresh_from_db()
    assert execution.status == "running"


@pytest.mark.django_db(transaction=True)
def test_workflow_execution_complete_nested_signals_after(user, finished):
    # given: a real commit; when: completed inside an outer transaction; then: the signal follows it
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project__owner=user))

    with transaction.atomic():
        services.workflow_execution_complete(execution=execution, actor=user)
        assert finished == []  # still inside the caller's transaction

    assert len(finished) == 1
    assert finished[0]["execution"].status == "completed"


def test_workflows_api_complete_survives_raising_receiver(
    auth_client, project, finished, run_on_commit
):
    # given: a signal receiver that raises
    execution = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))

    def broken(sender, **kwargs):
        raise RuntimeError("integration down")

    workflow_execution_finished.connect(broken, weak=False)
    try:
        with run_on_commit():
            resp = auth_client.post(execution_action(execution.pk, "complete"))
    finally:
        workflow_execution_finished.disconnect(broken)

    assert resp.status_code == 200
    assert len(finished) == 1
