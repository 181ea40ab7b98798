"""The Teams pages: connect with the URL written once, verify, test card, switches, delivery
log; members read without the URL, others get 404."""

from __future__ import annotations

import pytest

from apps.integrations_external.teams.models import TeamsIntegration
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def pages(project) -> str:
    return f"/projects/{project.pk}/integrations/teams/"


def test_pages_connect_stores_url_and_never_shows_it(client, user, project, teams):
    client.force_login(user)
    response = client.post(
        pages(project) + "new/",
        {"channel_name": "Builds", "webhook_url": teams.url, "notify_workflow_completion": "on"},
    )
    assert response.status_code == 302
    integration = TeamsIntegration.objects.get()
    assert integration.webhook_url == teams.url
    assert not integration.notify_command_execution  # unchecked box: off
    body = client.get(response["Location"]).content.decode()
    assert "Teams connected to Builds" in body
    assert "s3cr3t-sig" not in body
    assert "•••••••• saved" in body


def test_pages_connect_refuses_plain_http_in_words(client, user, project, settings):
    settings.INTEGRATIONS_ALLOW_PRIVATE_TARGETS = False
    client.force_login(user)
    response = client.post(
        pages(project) + "new/", {"channel_name": "Builds", "webhook_url": "http://x.example/w"}
    )
    assert response.status_code == 200
    assert "Paste the https:// URL Teams" in response.content.decode()
    assert not TeamsIntegration.objects.exists()


def test_pages_verify_and_test_card(client, user, project, teams, integration, run_on_commit):
    client.force_login(user)
    detail = pages(project) + f"{integration.pk}/"
    verified = client.post(detail + "verify/", follow=True).content.decode()
    assert "Teams accepted a test card" in verified
    with run_on_commit():
        client.post(detail + "test-card/")
    assert "Test card queued for Builds" in client.get(detail).content.decode()
    assert len(teams.valid_posts()) == 2


def test_pages_verify_gone_workflow_shows_what_to_do(client, user, project, teams, integration):
    teams.fail_next(status=404)
    client.force_login(user)
    body = client.post(pages(project) + f"{integration.pk}/verify/", follow=True)
    assert "The workflow is gone (404)" in body.content.decode()
    integration.refresh_from_db()
    assert not integration.is_healthy


def test_pages_settings_empty_url_keeps_the_stored_one(client, user, project, teams, integration):
    client.force_login(user)
    response = client.post(
        pages(project) + f"{integration.pk}/",
        {"channel_name": "Deploys", "webhook_url": "", "notify_only_failures": "on"},
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.channel_name == "Deploys"
    assert integration.notify_only_failures
    assert integration.webhook_url == teams.url


def test_pages_delivery_log_lists_cards(client, user, project, teams, integration, run_on_commit):
    client.force_login(user)
    with run_on_commit():
        client.post(pages(project) + f"{integration.pk}/test-card/")
    log = client.get(f"/projects/{project.pk}/integrations/teams/{integration.pk}/deliveries/")
    assert log.status_code == 200
    assert "webhook.test" in log.content.decode()


def test_pages_member_reads_without_url_or_buttons(client, project, integration):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    body = client.get(pages(project) + f"{integration.pk}/").content.decode()
    assert "Builds" in body
    assert "Verify</button>" not in body
    assert "s3cr3t-sig" not in body
    assert client.post(pages(project) + f"{integration.pk}/verify/").status_code == 403


def test_pages_outsider_gets_404(client, project, integration):
    client.force_login(UserFactory())
    assert client.get(pages(project) + f"{integration.pk}/").status_code == 404
    assert client.get(pages(project) + "new/").status_code == 404
