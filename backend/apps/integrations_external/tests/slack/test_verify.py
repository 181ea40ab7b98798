"""Verification: auth.test then conversations.info, in words a person can act on."""

import pytest

from apps.integrations_external.slack import channel as slack_channel
from apps.integrations_external.slack.services import SlackService
from apps.integrations_external.tests.slack.factories import BOT_TOKEN

pytestmark = pytest.mark.django_db


def test_verify_valid_token_bot_in_channel_ok_and_stored(integration, slack):
    result = SlackService(integration).verify_connection()

    assert result.ok, result.detail
    assert "Acme" in result.detail
    assert "#builds" in result.detail
    assert [c.method for c in slack.calls] == ["auth.test", "conversations.info"]
    assert {c.token for c in slack.calls} == {BOT_TOKEN}
    assert slack.calls[1].params["channel"] == "C0BUILDS01"
    integration.refresh_from_db()
    assert integration.last_verification_ok is True
    assert integration.last_verified_at is not None
    assert integration.team_id == "T0001"
    assert integration.bot_user_name == "buildbot"
    assert integration.is_healthy


@pytest.mark.parametrize(
    ("setup", "problem", "words"),
    [
        (lambda s: s.tokens.clear(), "invalid_auth", "Invalid token"),
        (lambda s: s.inactive_tokens.add(BOT_TOKEN), "account_inactive", "Reinstall"),
        (lambda s: s.channels.clear(), "channel_not_found", "Channel not found"),
        (
            lambda s: setattr(s.channels["C0BUILDS01"], "is_member", False),
            "not_in_channel",
            "/invite @buildbot",
        ),
        (
            lambda s: setattr(s.channels["C0BUILDS01"], "is_archived", True),
            "is_archived",
            "archived",
        ),
        (
            lambda s: s.fail_next("auth.test", error="missing_scope", needed="chat:write"),
            "missing_scope",
            "chat:write",
        ),
    ],
)
def test_verify_broken_setup_stores_the_problem_and_unhealthy(
    integration, slack, setup, problem, words
):
    setup(slack)

    result = SlackService(integration).verify_connection()

    assert not result.ok
    assert result.problem == problem
    assert words in result.detail
    integration.refresh_from_db()
    assert integration.last_verification_ok is False
    assert integration.last_verification_detail == result.detail
    assert not integration.is_healthy
    assert integration.health_reason == result.detail


def test_verify_slack_down_not_ok_but_health_untouched(integration, slack):
    slack.fail_next("auth.test", status=503, body=b"<html>down</html>")

    result = SlackService(integration).verify_connection()

    assert not result.ok
    assert result.problem == "unreachable"
    integration.refresh_from_db()
    assert integration.is_healthy


def test_verify_success_restores_health(integration, slack):
    slack_channel.mark_unhealthy(integration.pk, "Bot not in the channel")

    assert SlackService(integration).verify_connection().ok

    integration.refresh_from_db()
    assert integration.is_healthy
    assert integration.health_reason == ""


def test_verify_endpoint_200_with_ok_and_detail(integration, slack, client_for, user):
    slack.channels["C0BUILDS01"].is_member = False

    resp = client_for(user).post(f"/api/v1/integrations-external/slack/{integration.pk}/verify/")

    assert resp.status_code == 200
    body = resp.json()
    assert body["ok"] is False
    assert "/invite @buildbot" in body["detail"]
    assert body["problem"] == "not_in_channel"
    assert body["integration"]["is_healthy"] is False
    assert BOT_TOKEN not in resp.content.decode()
