"""A command stays in its project: a member cannot move the owner's command elsewhere (issue 11)."""

import pytest

from apps.commands.models import Command
from apps.commands.tests.factories import CommandFactory
from apps.projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["patch", "put"])
def test_given_a_members_own_project_when_moving_the_owners_command_there_then_400(
    client_for, user, other_user, method
):
    shared = ProjectFactory(owner=other_user, members=[user])
    elsewhere = ProjectFactory(owner=user)
    command = CommandFactory(project=shared)
    body = {"project": elsewhere.pk, "name": command.name, "command_line": "make"}

    resp = getattr(client_for(user), method)(f"/api/v1/commands/{command.pk}/", body, format="json")

    assert resp.status_code == 400, resp.content
    assert "project" in resp.json()
    assert Command.objects.get(pk=command.pk).project_id == shared.pk
    assert client_for(other_user).get(f"/api/v1/commands/{command.pk}/").status_code == 200


def test_given_the_same_project_when_putting_a_command_then_200(auth_client, project):
    command = CommandFactory(project=project)
    body = {"project": project.pk, "name": "Renamed", "command_line": "make"}

    resp = auth_client.put(f"/api/v1/commands/{command.pk}/", body, format="json")

    assert resp.status_code == 200, resp.content
    assert resp.json()["name"] == "Renamed"
