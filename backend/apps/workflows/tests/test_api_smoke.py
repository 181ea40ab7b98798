import pytest

from apps.workflows.signals import workflow_execution_finished

pytestmark = pytest.mark.django_db


def test_workflows_api_execute_complete_signals_once(auth_client, run_on_commit):
    received = []

    def receiver(sender, execution, **kwargs):
        received.append(execution.pk)

    workflow_execution_finished.connect(receiver)
    try:
        project = auth_client.post("/api/v1/projects/", {"name": "P"}).json()
        wf = auth_client.post("/api/v1/workflows/", {"project": project["id"], "name": "W"}).json()
        execution = auth_client.post(f"/api/v1/workflows/{wf['id']}/execute/").json()
        assert execution["status"] == "running"
        with run_on_commit():
            resp = auth_client.post(
                f"/api/v1/workflow-executions/{execution['id']}/complete/", {"result": {"a": 1}}
            )
        assert resp.status_code == 200, resp.content
        assert resp.json()["status"] == "completed"
        again = auth_client.post(f"/api/v1/workflow-executions/{execution['id']}/complete/")
        assert again.status_code == 409
        assert received == [execution["id"]]
    finally:
        workflow_execution_finished.disconnect(receiver)
