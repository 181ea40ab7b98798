"""The Teams API: the URL is write-only and guarded, owners manage, members read, others 404."""

from __future__ import annotations

import pytest
from django.test import override_settings

from apps.integrations_external.teams.models import TeamsIntegration
from apps.projects.tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/integrations-external/teams/"


def create(client, project, url, **extra):
    return client.post(
        BASE,
        {"project": project.pk, "channel_name": "Builds", "webhook_url": url, **extra},
        format="json",
    )


def test_api_create_stores_url_encrypted_and_never_returns_it(user, project, client_for, teams):
    response = create(client_for(user), project, teams.url)
    assert response.status_code == 201, response.content
    body = response.json()
    assert "webhook_url" not in body
    assert body["has_webhook_url"] is True
    assert body["notify_only_failures"] is False
    assert body["notify_back_to_normal"] is True
    integration = TeamsIntegration.objects.get()
    assert integration.webhook_url == teams.url
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_url FROM integrations_external_teamsintegration")
        [(stored,)] = cursor.fetchall()
    assert "s3cr3t-sig" not in stored


def test_api_create_needs_url_and_project(user, project, client_for):
    response = client_for(user).post(BASE, {"channel_name": "Builds"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"webhook_url", "project"}


@override_settings(INTEGRATIONS_ALLOW_PRIVATE_TARGETS=False)
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://teams.example.com/workflows/x", "https://"),
        ("https://127.0.0.1/workflows/x?sig=abc", "SSRF guard"),
        ("https://169.254.169.254/latest/meta-data", "SSRF guard"),
        ("not a url", "https://"),
    ],
)
def test_api_refuses_bad_or_private_url_without_echoing_it(user, project, client_for, url, words):
    response = create(client_for(user), project, url)
    assert response.status_code == 400
    [message] = response.json()["webhook_url"]
    assert words in message
    assert "sig=abc" not in message
    assert not TeamsIntegration.objects.exists()


def test_api_member_reads_without_url_and_cannot_change(project, client_for, integration):
    member = UserFactory()
    project.members.add(member)
    client = client_for(member)
    response = client.get(f"{BASE}{integration.pk}/")
    assert response.status_code == 200
    assert "webhook_url" not in response.json()
    assert (
        client.patch(f"{BASE}{integration.pk}/", {"channel_name": "x"}, format="json").status_code
        == 403
    )
    assert client.post(f"{BASE}{integration.pk}/verify/").status_code == 403
    assert client.post(f"{BASE}{integration.pk}/test-message/").status_code == 403


def test_api_outsider_gets_404(client_for, integration):
    outsider = client_for(UserFactory())
    assert outsider.get(f"{BASE}{integration.pk}/").status_code == 404
    assert outsider.post(f"{BASE}{integration.pk}/verify/").status_code == 404
    assert outsider.get(BASE).json()["results"] == []


def test_api_cannot_create_in_someone_elses_project(user, client_for, teams):
    foreign = ProjectFactory()
    response = create(client_for(user), foreign, teams.url)
    assert response.status_code == 400


def test_api_verify_posts_test_card_and_restores_health(user, client_for, teams, integration):
    integration.is_healthy = False
    integration.health_reason = "was broken"
    integration.save()
    response = client_for(user).post(f"{BASE}{integration.pk}/verify/")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["integration"]["is_healthy"] is True
    [post] = teams.posts
    assert post.status == 202
    assert post.problems == []


def test_api_verify_reports_gone_workflow_in_words(user, client_for, teams, integration):
    teams.fail_next(status=404)
    body = client_for(user).post(f"{BASE}{integration.pk}/verify/").json()
    assert body["ok"] is False
    assert "The workflow is gone (404)" in body["detail"]
    assert body["integration"]["is_healthy"] is False


def test_api_test_message_goes_through_pipeline(
    user, client_for, run_on_commit, teams, integration
):
    with run_on_commit():
        response = client_for(user).post(f"{BASE}{integration.pk}/test-message/")
    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.test"
    assert len(teams.valid_posts()) == 1
    deliveries = client_for(user).get(f"{BASE}{integration.pk}/deliveries/").json()["results"]
    assert deliveries[0]["status"] == "success"
    assert deliveries[0]["attempts"][0]["response_status"] == 202


def test_api_new_url_resets_health(user, client_for, teams, integration):
    integration.is_healthy = False
    integration.health_reason = "The workflow is gone (404)"
    integration.save()
    response = client_for(user).patch(
        f"{BASE}{integration.pk}/", {"webhook_url": teams.url + "&v=2"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["is_healthy"] is True
    assert response.json()["health_reason"] == ""
