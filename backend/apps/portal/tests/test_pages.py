"""The shell's pages through Django's test client: who sees what."""

from __future__ import annotations

import pytest
from django.core import mail

from apps.projects.tests.factories import ProjectFactory, UserFactory, UserStoryFactory

pytestmark = pytest.mark.django_db


def test_home_sends_anonymous_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"


def test_home_sends_signed_in_user_to_projects(client, user):
    client.force_login(user)
    assert client.get("/")["Location"] == "/projects/"


def test_pages_need_sign_in(client, project):
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_projects_lists_own_and_member_projects_only(client, user):
    own = ProjectFactory(owner=user, name="Own project")
    shared = ProjectFactory(name="Shared project")
    shared.members.add(user)
    ProjectFactory(name="Someone else's")
    client.force_login(user)
    body = client.get("/projects/").content.decode()
    assert own.name in body
    assert shared.name in body
    assert "Someone else" not in body


def test_project_of_another_team_is_404(client, other_user, project):
    client.force_login(other_user)
    for path in ("", "workflows/", "executions/", "integrations/"):
        response = client.get(f"/projects/{project.pk}/{path}")
        assert response.status_code == 404, path
        assert b"Not found" in response.content


def test_story_of_another_project_is_404(client, user, project):
    foreign = UserStoryFactory()
    client.force_login(user)
    assert client.get(f"/projects/{project.pk}/stories/{foreign.pk}/").status_code == 404


def test_member_sees_read_only_marker(client, project):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    assert b"Member: read-only" in client.get(f"/projects/{project.pk}/").content


def test_login_form_signs_in(client, user):
    response = client.post("/login/", {"username": user.username, "password": "pass-word-123"})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"


def test_login_refuses_wrong_password_in_words(client, user):
    response = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_password_reset_sends_link_by_email(client, user):
    response = client.post("/password-reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/password-reset/" in mail.outbox[0].body
    assert mail.outbox[0].to == [user.email]


def test_unknown_page_is_html_404_outside_api(client, user):
    client.force_login(user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_story_link_redirects_to_its_page(client, user, project):
    story = UserStoryFactory(project=project)
    client.force_login(user)
    response = client.get(f"/stories/{story.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/stories/{story.pk}/"


def test_short_links_of_others_objects_are_404(client, other_user, project):
    story = UserStoryFactory(project=project)
    client.force_login(other_user)
    assert client.get(f"/stories/{story.pk}/").status_code == 404
    assert client.get("/workflow-executions/999999/").status_code == 404
    assert client.get("/command-executions/999999/").status_code == 404


def test_short_links_need_sign_in(client):
    response = client.get("/workflow-executions/1/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/workflow-executions/1/")


def test_execution_links_redirect_to_their_pages(client, user, project):
    from apps.commands.tests.factories import CommandExecutionFactory, CommandFactory
    from apps.workflows.tests.factories import WorkflowExecutionFactory, WorkflowFactory

    run = WorkflowExecutionFactory(workflow=WorkflowFactory(project=project))
    command_run = CommandExecutionFactory(command=CommandFactory(project=project))
    client.force_login(user)
    assert client.get(f"/workflow-executions/{run.pk}/")["Location"] == (
        f"/projects/{project.pk}/executions/workflow/{run.pk}/"
    )
    assert client.get(f"/command-executions/{command_run.pk}/")["Location"] == (
        f"/projects/{project.pk}/executions/command/{command_run.pk}/"
    )
