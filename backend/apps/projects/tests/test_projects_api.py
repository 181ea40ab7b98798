"""Projects over HTTP with a DRF token: ownership, membership, signals, validation."""

import pytest

from apps.projects import services
from apps.projects.models import Project
from apps.projects.signals import project_updated
from apps.projects.tests.factories import ProjectFactory, UserFactory
from tests_support.transactions import RolledBack, roll_back

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/"


def detail(project_id) -> str:
    return f"{URL}{project_id}/"


def test_projects_api_create_caller_owns_it(auth_client, user):
    member = UserFactory()

    resp = auth_client.post(URL, {"name": "Apollo", "description": "Moon", "members": [member.pk]})

    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["owner"] == user.pk
    assert body["owner_username"] == user.username
    assert body["members"] == [member.pk]
    project = Project.objects.get(pk=body["id"])
    assert project.owner == user
    assert list(project.members.all()) == [member]


def test_projects_api_list_anonymous_401(api_client):
    resp = api_client.get(URL)

    assert resp.status_code == 401


def test_projects_api_list_bad_token_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert api_client.get(URL).status_code == 401


def test_projects_api_list_owned_and_member_only(auth_client, user, other_user):
    owned = ProjectFactory(owner=user)
    shared = ProjectFactory(owner=other_user, members=[user])
    ProjectFactory(owner=other_user)  # not visible

    resp = auth_client.get(URL)

    assert resp.status_code == 200
    assert {p["id"] for p in resp.json()["results"]} == {owned.pk, shared.pk}
    assert resp.json()["count"] == 2


def test_projects_api_list_no_duplicates(auth_client, user):
    # given: a project with several members
    project = ProjectFactory(owner=user, members=[user, UserFactory(), UserFactory()])

    results = auth_client.get(URL).json()["results"]

    assert [p["id"] for p in results] == [project.pk]


def test_projects_api_list_staff_sees_all(client_for, staff_user):
    ProjectFactory.create_batch(3)

    resp = client_for(staff_user).get(URL)

    assert resp.json()["count"] == 3


def test_projects_api_list_page_size_standard_shape(auth_client, user):
    ProjectFactory.create_batch(5, owner=user)

    first = auth_client.get(URL, {"page_size": 2}).json()
    last = auth_client.get(URL, {"page_size": 2, "page": 3}).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert last["next"] is None
    assert len(last["results"]) == 1


def test_projects_api_list_page_past_end_404(auth_client):
    resp = auth_client.get(URL, {"page": 99})

    assert resp.status_code == 404


def test_projects_api_member_reads_edit_403(client_for, user, other_user):
    project = ProjectFactory(owner=other_user, members=[user])
    client = client_for(user)

    assert client.get(detail(project.pk)).status_code == 200
    patch = client.patch(detail(project.pk), {"name": "Mine now"})
    delete = client.delete(detail(project.pk))

    assert patch.status_code == 403
    assert "owner" in patch.json()["detail"]
    assert delete.status_code == 403
    project.refresh_from_db()
    assert project.name != "Mine now"


def test_projects_api_other_users_project_404(auth_client, other_user):
    project = ProjectFactory(owner=other_user)

    assert auth_client.get(detail(project.pk)).status_code == 404
    assert auth_client.patch(detail(project.pk), {"name": "x"}).status_code == 404
    assert auth_client.put(detail(project.pk), {"name": "x"}).status_code == 404
    assert auth_client.delete(detail(project.pk)).status_code == 404
    assert Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999", "-1", "0"])
def test_projects_api_malformed_or_huge_id_404(auth_client, pk):
    assert auth_client.get(detail(pk)).status_code == 404


def test_projects_api_delete_by_owner_204(auth_client, project):
    resp = auth_client.delete(detail(project.pk))

    assert resp.status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": {"nested": "object"}}, "name"),
        ({"name": "P", "members": ["not-an-id"]}, "members"),
        ({"name": "P", "members": [999_999_999]}, "members"),
        ({"name": "P", "members": [2**70]}, "members"),
        ({"name": "P", "members": "not-a-list"}, "members"),
    ],
)
def test_projects_api_create_bad_input_400_field_errors(auth_client, payload, field):
    resp = auth_client.post(URL, payload)

    assert resp.status_code == 400, resp.content
    assert field in resp.json()


def test_projects_api_create_non_json_body_400(auth_client):
    resp = auth_client.post(URL, data="{not json", content_type="application/json")

    assert resp.status_code == 400


def test_projects_api_update_signals_once_after_commit(
    auth_client, project, user, record_signal, run_on_commit
):
    calls = record_signal(project_updated)

    with run_on_commit():
        resp = auth_client.patch(detail(project.pk), {"name": "Renamed", "description": "New"})

    assert resp.status_code == 200, resp.content
    assert len(calls) == 1
    assert calls[0]["sender"] is Project
    assert calls[0]["project"].pk == project.pk
    assert sorted(calls[0]["changed_fields"]) == ["description", "name"]
    assert calls[0]["actor"] == user


def test_projects_api_update_signal_names_new_members(
    auth_client, project, record_signal, run_on_commit
):
    calls = record_signal(project_updated)
    newcomer = UserFactory()

    with run_on_commit():
        resp = auth_client.patch(detail(project.pk), {"members": [newcomer.pk]})

    assert resp.status_code == 200
    assert resp.json()["members"] == [newcomer.pk]
    assert [c["changed_fields"] for c in calls] == [["members"]]


def test_projects_api_update_no_change_no_signal(
    auth_client, project, record_signal, run_on_commit
):
    calls = record_signal(project_updated)

    with run_on_commit():
        resp = auth_client.patch(detail(project.pk), {"name": project.name})

    assert resp.status_code == 200
    assert calls == []


def test_project_update_signals_on_commit_only(
    project, user, record_signal, django_capture_on_commit_callbacks
):
    calls = record_signal(project_updated)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.project_update(project=project, actor=user, data={"name": "Later"})

    assert calls == []
    for callback in callbacks:  # the signal's send, and the event's fan-out (the outbox)
        callback()
    assert len(calls) == 1


def test_project_update_rolled_back_no_signal(
    project, user, record_signal, django_capture_on_commit_callbacks
):
    calls = record_signal(project_updated)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RolledBack),
    ):
        roll_back(
            lambda: services.project_update(project=project, actor=user, data={"name": "Never"})
        )

    assert callbacks == []
    assert calls == []
    project.refresh_from_db()
    assert project.name != "Never"
