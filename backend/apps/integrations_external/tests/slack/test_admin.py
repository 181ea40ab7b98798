"""The Slack admin: the token is never shown, verify and send-test actions work."""

import pytest
from django.test import Client

from apps.integrations_external.models import SlackDelivery, SlackIntegration
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.projects.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/integrations_external/slackintegration/"


@pytest.fixture
def admin_client_():
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_admin_pages_mask_the_token(admin_client_, slack):
    integration = SlackIntegrationFactory(is_healthy=False, health_reason="Bot not in the channel")

    pages = [
        admin_client_.get(CHANGELIST),
        admin_client_.get(f"{CHANGELIST}{integration.pk}/change/"),
        admin_client_.get(f"{CHANGELIST}add/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert BOT_TOKEN not in page.content.decode()
    assert "Bot not in the channel" in pages[0].content.decode()


def test_admin_change_without_token_keeps_it(admin_client_, slack):
    integration = SlackIntegrationFactory()
    page = admin_client_.get(f"{CHANGELIST}{integration.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "bot_token"}
    data.update(owner=integration.owner_id, channel_id="C0BUILDS02", bot_token="", project="")

    resp = admin_client_.post(f"{CHANGELIST}{integration.pk}/change/", data)

    assert resp.status_code == 302, resp.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.bot_token == BOT_TOKEN
    assert integration.channel_id == "C0BUILDS02"


def test_admin_verify_action_stores_results(admin_client_, slack):
    integration = SlackIntegrationFactory()

    resp = admin_client_.post(
        CHANGELIST, {"action": "verify_selected", "_selected_action": [integration.pk]}, follow=True
    )

    assert resp.status_code == 200
    assert "can post to #builds" in resp.content.decode()
    integration.refresh_from_db()
    assert integration.last_verification_ok is True


def test_admin_send_test_action_posts_a_message(admin_client_, slack, run_on_commit):
    integration = SlackIntegrationFactory()

    with run_on_commit():
        admin_client_.post(
            CHANGELIST, {"action": "send_test_selected", "_selected_action": [integration.pk]}
        )

    assert SlackDelivery.objects.get(integration=integration).status == "success"
    [call] = slack.posted()
    assert call.params["channel"] == integration.channel_id
    assert SlackIntegration.objects.get(pk=integration.pk).last_message_at is not None
