"""The Slack pages through Django's test client: who sees what, and every action."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.integrations_external.models import SlackIntegration
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connected(user, project, slack):
    return SlackIntegrationFactory(owner=user, project=project)


def _url(project, integration=None, action=""):
    base = f"/projects/{project.pk}/integrations/slack/"
    return f"{base}{integration.pk}/{action}" if integration else f"{base}{action}"


def test_slack_pages_need_sign_in(client, project, connected):
    response = client.get(_url(project, connected))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_slack_pages_outsider_gets_404(client, project, connected):
    client.force_login(UserFactory())
    for path in (_url(project, connected), _url(project, action="new/")):
        assert client.get(path).status_code == 404, path
    assert client.post(_url(project, connected, "verify/")).status_code == 404


def test_slack_page_member_reads_without_secret_or_buttons(client, project, connected):
    member = UserFactory()
    project.members.add(member)
    client.force_login(member)
    body = client.get(_url(project, connected)).content.decode()
    assert "#builds" in body
    assert BOT_TOKEN not in body
    assert "Verify</button>" not in body
    assert "Save settings" not in body
    assert client.get(_url(project, action="new/")).status_code == 403
    assert client.post(_url(project, connected, "verify/")).status_code == 403
    assert client.post(_url(project, connected, "delete/")).status_code == 403


def test_slack_section_lists_integration_with_health(client, user, project, connected):
    client.force_login(user)
    body = client.get(f"/projects/{project.pk}/integrations/").content.decode()
    assert _url(project, connected) in body
    assert "Healthy" in body


def test_slack_connect_refuses_bad_token_in_words(client, user, project, slack):
    client.force_login(user)
    response = client.post(
        _url(project, action="new/"), {"channel_id": "C0BUILDS01", "bot_token": "nope"}
    )
    assert response.status_code == 200
    assert "Expected a Slack bot token starting with xoxb-." in response.content.decode()
    assert not SlackIntegration.objects.exists()


def test_slack_connect_creates_and_masks_token(client, user, project, slack):
    client.force_login(user)
    response = client.post(
        _url(project, action="new/"),
        {"channel_id": "C0BUILDS01", "bot_token": BOT_TOKEN, "notify_only_failures": "on"},
        follow=True,
    )
    integration = SlackIntegration.objects.get()
    assert integration.project == project
    assert integration.owner == user
    assert integration.notify_only_failures is True
    body = response.content.decode()
    assert "Slack connected" in body
    assert BOT_TOKEN not in body
    assert "•••••••• saved" in body


def test_slack_verify_shows_actionable_detail(client, user, project, slack):
    slack.channels["C0BUILDS01"].is_member = False
    integration = SlackIntegrationFactory(owner=user, project=project)
    client.force_login(user)
    body = client.post(_url(project, integration, "verify/"), follow=True).content.decode()
    assert "invite it to #builds with /invite @buildbot" in body
    integration.refresh_from_db()
    assert integration.is_healthy is False


def test_slack_verify_htmx_answers_partial_with_flash(client, user, project, connected):
    client.force_login(user)
    response = client.post(_url(project, connected, "verify/"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="slack-status"' in response.content.decode()
    assert "Connected to Acme" in response["HX-Trigger"]


def test_slack_test_message_posts_through_fake_slack(client, user, project, connected, slack):
    client.force_login(user)
    body = client.post(_url(project, connected, "test-message/"), follow=True).content.decode()
    assert "Test message posted" in body
    assert len(slack.posted()) == 1


def test_slack_settings_empty_token_keeps_the_stored_one(client, user, project, connected):
    client.force_login(user)
    response = client.post(
        _url(project, connected),
        {"channel_id": "C0BUILDS01", "bot_token": "", "notify_system_alerts": "on"},
    )
    assert response.status_code == 302
    connected.refresh_from_db()
    assert connected.bot_token == BOT_TOKEN
    assert connected.notify_system_alerts is True
    assert connected.notify_workflow_completion is False


def test_slack_settings_show_serializer_error_on_field(client, user, project, connected):
    client.force_login(user)
    body = client.post(_url(project, connected), {"channel_id": "#builds"}).content.decode()
    assert "Use the channel ID" in body


def test_slack_disable_and_enable_again(client, user, project, connected):
    client.force_login(user)
    body = client.post(
        _url(project, connected, "active/"), {"is_active": "0"}, follow=True
    ).content.decode()
    connected.refresh_from_db()
    assert connected.is_active is False
    assert "Turned off by hand." in body
    client.post(_url(project, connected, "active/"), {"is_active": "1"})
    connected.refresh_from_db()
    assert connected.is_active is True
    assert connected.disabled_reason == ""


def test_slack_delete_asks_to_confirm_and_deletes(client, user, project, connected):
    client.force_login(user)
    assert b"Delete Acme #builds?" in client.get(_url(project, connected, "delete/")).content
    response = client.post(_url(project, connected, "delete/"), follow=True)
    assert not SlackIntegration.objects.exists()
    assert b"deleted" in response.content


def test_slack_verify_shares_the_api_throttle_budget(
    client, client_for, settings, user, project, connected, slack
):
    cache.clear()
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "outbound": "2/minute"}
    client.force_login(user)
    client.post(_url(project, connected, "verify/"))
    client_for(user).post(f"/api/v1/integrations-external/slack/{connected.pk}/verify/")
    body = client.post(_url(project, connected, "verify/"), follow=True).content.decode()
    assert "Too many of these in a short time" in body
    assert len(slack.calls_to("auth.test")) == 2
