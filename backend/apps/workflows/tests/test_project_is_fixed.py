"""A workflow stays in its project: a member cannot move the owner's workflow (issue 11)."""

import pytest

from apps.projects.tests.factories import ProjectFactory
from apps.workflows.models import Workflow
from apps.workflows.tests.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["patch", "put"])
def test_workflows_api_move_to_members_project_400(client_for, user, other_user, method):
    # given: a member's own project; when: the owner's workflow is moved there
    shared = ProjectFactory(owner=other_user, members=[user])
    elsewhere = ProjectFactory(owner=user)
    workflow = WorkflowFactory(project=shared)
    body = {"project": elsewhere.pk, "name": workflow.name, "definition": {}}

    client = client_for(user)
    resp = getattr(client, method)(f"/api/v1/workflows/{workflow.pk}/", body, format="json")

    assert resp.status_code == 400, resp.content
    assert "project" in resp.json()
    assert Workflow.objects.get(pk=workflow.pk).project_id == shared.pk
    assert client_for(other_user).get(f"/api/v1/workflows/{workflow.pk}/").status_code == 200


def test_workflows_api_put_same_project_200(auth_client, project):
    workflow = WorkflowFactory(project=project)
    body = {"project": project.pk, "name": "Renamed", "definition": {}}

    resp = auth_client.put(f"/api/v1/workflows/{workflow.pk}/", body, format="json")

    assert resp.status_code == 200, resp.content
    assert resp.json()["name"] == "Renamed"
