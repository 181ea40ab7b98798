"""User stories over HTTP: created in visible projects only, signal on creation."""

import pytest

from apps.projects import services
from apps.projects.models import UserStory
from apps.projects.signals import user_story_created
from apps.projects.tests.factories import ProjectFactory, UserStoryFactory
from tests_support.transactions import RolledBack, roll_back

pytestmark = pytest.mark.django_db

URL = "/api/v1/user-stories/"


def test_stories_api_create_201_key_and_signal(
    auth_client, project, user, record_signal, run_on_commit
):
    # then: 201 with a key, and a signal after commit
    calls = record_signal(user_story_created)

    with run_on_commit():
        resp = auth_client.post(
            URL,
            {
                "project": project.pk,
                "title": "As a user I can log in",
                "acceptance_criteria": "Given… when… then…",
                "priority": "high",
            },
        )

    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["key"] == f"US-{body['id']}"
    assert body["status"] == "todo"
    assert body["priority"] == "high"
    assert body["created_by"] == user.pk
    assert len(calls) == 1
    assert calls[0]["sender"] is UserStory
    assert calls[0]["story"].pk == body["id"]
    assert calls[0]["actor"] == user


def test_stories_api_create_by_member_201(client_for, user, other_user):
    project = ProjectFactory(owner=other_user, members=[user])

    resp = client_for(user).post(URL, {"project": project.pk, "title": "Shared work"})

    assert resp.status_code == 201, resp.content


def test_stories_api_create_in_invisible_project_400(auth_client, other_user):
    # then: 400 on project, leaking nothing about it
    hidden = ProjectFactory(owner=other_user)

    hidden_resp = auth_client.post(URL, {"project": hidden.pk, "title": "Sneaky"})
    missing_resp = auth_client.post(URL, {"project": 999_999, "title": "Sneaky"})

    assert hidden_resp.status_code == 400
    assert "project" in hidden_resp.json()
    # Same answer as for an id that does not exist: nothing tells the two apart.
    assert hidden_resp.json()["project"] == [f'Invalid pk "{hidden.pk}" - object does not exist.']
    assert missing_resp.json()["project"] == ['Invalid pk "999999" - object does not exist.']
    assert not UserStory.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"project": None, "title": "No project"}, "project"),
        ({"project": "abc", "title": "T"}, "project"),
        ({"project": 2**70, "title": "T"}, "project"),
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "T", "priority": "urgent"}, "priority"),
        ({"title": "T", "status": "blocked"}, "status"),
        ({"title": "T", "priority": ["high"]}, "priority"),
    ],
)
def test_stories_api_create_bad_input_400_field_errors(auth_client, project, payload, field):
    payload = {"project": project.pk, **payload}

    resp = auth_client.post(URL, payload)

    assert resp.status_code == 400, resp.content
    assert field in resp.json()


def test_stories_api_move_to_another_project_400(auth_client, user, project):
    story = UserStoryFactory(project=project)
    elsewhere = ProjectFactory(owner=user)

    resp = auth_client.patch(f"{URL}{story.pk}/", {"project": elsewhere.pk})

    assert resp.status_code == 400
    assert "project" in resp.json()


def test_stories_api_update_status_200(auth_client, project):
    story = UserStoryFactory(project=project)

    resp = auth_client.patch(f"{URL}{story.pk}/", {"status": "in_progress"})

    assert resp.status_code == 200
    assert resp.json()["status"] == "in_progress"


def test_stories_api_other_users_story_404(auth_client, other_user):
    story = UserStoryFactory(project=ProjectFactory(owner=other_user))
    url = f"{URL}{story.pk}/"

    assert auth_client.get(url).status_code == 404
    assert auth_client.patch(url, {"title": "x"}).status_code == 404
    assert auth_client.delete(url).status_code == 404
    assert UserStory.objects.filter(pk=story.pk).exists()


def test_stories_api_filter_visible_matching_only(auth_client, user, other_user):
    mine = ProjectFactory(owner=user)
    other_mine = ProjectFactory(owner=user)
    done = UserStoryFactory(project=mine, status="done")
    UserStoryFactory(project=mine, status="todo")
    UserStoryFactory(project=other_mine, status="done")
    UserStoryFactory(project=ProjectFactory(owner=other_user), status="done")

    resp = auth_client.get(URL, {"project": mine.pk, "status": "done"})

    assert [s["id"] for s in resp.json()["results"]] == [done.pk]
    assert auth_client.get(URL).json()["count"] == 3


def test_stories_api_list_bad_filter_400(auth_client):
    resp = auth_client.get(URL, {"project": "abc", "status": "nope"})

    assert resp.status_code == 400
    assert set(resp.json()) == {"project", "status"}


def test_story_create_rolled_back_no_signal(
    project, user, record_signal, django_capture_on_commit_callbacks
):
    calls = record_signal(user_story_created)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RolledBack):
        roll_back(lambda: services.user_story_create(actor=user, project=project, title="Gone"))

    assert calls == []
    assert not UserStory.objects.exists()
