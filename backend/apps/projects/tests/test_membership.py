"""Membership (issue 11, item 5): member ids cannot be enumerated, and a member can leave."""

from __future__ import annotations

import pytest

from apps.projects import services
from apps.projects.models import Project
from apps.projects.signals import project_access_lost, project_updated
from apps.projects.tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"


def leave(project: Project) -> str:
    return f"{URL}{project.pk}/leave/"


def test_members_add_missing_or_inactive_same_400(
    auth_client,
):
    # then: the same 400 for both, naming no id
    inactive = UserFactory(is_active=False)
    missing = inactive.pk + 1000

    for_inactive = auth_client.post(URL, {"name": "P", "members": [inactive.pk]}, format="json")
    for_missing = auth_client.post(URL, {"name": "P", "members": [missing]}, format="json")

    assert for_inactive.status_code == for_missing.status_code == 400
    assert for_inactive.json() == for_missing.json()
    assert str(inactive.pk) not in str(for_inactive.json())
    assert str(missing) not in str(for_missing.json())


def test_members_update_missing_user_400_no_id(auth_client, project):
    valid = UserFactory()
    missing = valid.pk + 1000

    resp = auth_client.patch(f"{URL}{project.pk}/", {"members": [valid.pk, missing]}, format="json")

    assert resp.status_code == 400
    assert str(missing) not in str(resp.json())
    assert list(project.members.all()) == []


def test_leave_member_204_loses_access(client_for, user, other_user, record_signal, run_on_commit):
    project = ProjectFactory(owner=other_user, members=[user])
    lost = record_signal(project_access_lost)
    updated = record_signal(project_updated)

    with run_on_commit():
        resp = client_for(user).post(leave(project))

    assert resp.status_code == 204, resp.content
    assert not project.members.filter(pk=user.pk).exists()
    assert client_for(user).get(f"{URL}{project.pk}/").status_code == 404
    assert [(c["project"].pk, c["user_ids"]) for c in lost] == [(project.pk, [user.pk])]
    assert [c["changed_fields"] for c in updated] == [["members"]]


def test_leave_owner_refused(auth_client, project, user):
    resp = auth_client.post(leave(project))

    assert resp.status_code == 409
    assert Project.objects.get(pk=project.pk).owner_id == user.pk


def test_leave_other_users_project_404(auth_client, other_user):
    project = ProjectFactory(owner=other_user)

    assert auth_client.post(leave(project)).status_code == 404


def test_leave_link_names_project_changes_nothing(client_for, user, other_user):
    project = ProjectFactory(owner=other_user, members=[user])

    resp = client_for(user).get(leave(project))

    assert resp.status_code == 200
    assert resp.json()["owner_username"] == other_user.username
    assert project.members.filter(pk=user.pk).exists()


def test_members_update_removal_signal_names_them(auth_client, user, record_signal):
    # then: the access-lost notice names the removed member
    member, stays = UserFactory(), UserFactory()
    project = ProjectFactory(owner=user, members=[member, stays])
    lost = record_signal(project_access_lost)

    resp = auth_client.patch(f"{URL}{project.pk}/", {"members": [stays.pk]}, format="json")

    assert resp.status_code == 200
    assert [c["user_ids"] for c in lost] == [[member.pk]]


def test_members_update_new_owner_old_loses_access(user, record_signal):
    newcomer = UserFactory()
    project = ProjectFactory(owner=user)
    lost = record_signal(project_access_lost)

    services.project_update(project=project, actor=user, data={"owner": newcomer})

    assert [c["user_ids"] for c in lost] == [[user.pk]]
