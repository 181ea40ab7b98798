"""A command stays in its project: a member cannot move the owner's command elsewhere (issue 11)."""

import pytest

from apps.commands.models import Command
from apps.commands.tests.factories import CommandFactory
from apps.projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["patch", "put"])
def test_commands_api_move_to_members_project_400(client_for, user, other_user, method):
    # given: a member's own project; when: the owner's command is moved there
    shared = ProjectFactory(owner=other_user, members=[user])
    elsewhere = ProjectFactory(owner=user)
    command = CommandFactory(project=shared)
    body = {"project": elsewhere.pk, "name": command.name, "command_line": "make"}

    resp = getattr(client_for(user), method)(f"/api/v1/commands/{command.pk}/", body, format="json")

    assert resp.status_code == 400, resp.content
    assert "project" in resp.json()
    assert Command.objects.get(pk=command.pk).project_id == shared.pk
    assert client_for(other_user).get(f"/api/v1/commands/{command.pk}/").status_code == 200


def test_commands_api_put_same_project_200(auth_client, project):
    command = CommandFactory(project=project)
    body = {"project": project.pk, "name": "Renamed", "command_line": "make"}

    resp = auth_client.put(f"/api/v1/commands/{command.pk}/", body, format="json")

    assert resp.status_code == 200, resp.content
    assert resp.json()["name"] == "Renamed"
