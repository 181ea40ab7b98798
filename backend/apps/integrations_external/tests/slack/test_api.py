"""The Slack API: owners only, the token never leaves the server, bad input is a 400."""

import logging

import pytest
from django.db import connection

from apps.integrations_external.models import SlackIntegration
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from apps.projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations-external/slack/"
NEW_TOKEN = "xoxb-9999-8888-anotherSECRETvalue"


def payload(**overrides):
    return {
        "channel_id": "C0BUILDS01",
        "bot_token": BOT_TOKEN,
        "workspace_name": "Acme",
        **overrides,
    }


def test_api_create_201_owned_without_returning_token(user, client_for, project):
    resp = client_for(user).post(URL, payload(project=project.pk, notify_only_failures=True))

    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert "bot_token" not in body
    assert body["has_bot_token"] is True
    assert BOT_TOKEN not in resp.content.decode()
    integration = SlackIntegration.objects.get(pk=body["id"])
    assert integration.owner == user
    assert integration.project == project
    assert integration.bot_token == BOT_TOKEN
    assert integration.notify_only_failures


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payload(bot_token=""), "bot_token"),
        ({"channel_id": "C0BUILDS01"}, "bot_token"),
        (payload(bot_token="not-a-token-at-all"), "bot_token"),
        (payload(channel_id="#builds"), "channel_id"),
        (payload(channel_id=""), "channel_id"),
        (payload(notify_system_alerts="maybe"), "notify_system_alerts"),
    ],
)
def test_api_create_bad_body_400_with_field_error(user, client_for, body, field):
    resp = client_for(user).post(URL, body)

    assert resp.status_code == 400
    assert field in str(resp.json())
    assert "not-a-token-at-all" not in resp.content.decode()


def test_api_create_in_unseen_project_is_400(user, other_user, client_for):
    # given: a project the user cannot see
    foreign = ProjectFactory(owner=other_user)

    resp = client_for(user).post(URL, payload(project=foreign.pk))

    assert resp.status_code == 400
    assert "project" in resp.json().get("errors", resp.json()).__str__()
    assert not SlackIntegration.objects.exists()


def test_api_create_in_member_project_is_403(user, other_user, client_for):
    # Issue 11: only the project's owner (or staff) adds integrations to it.
    shared = ProjectFactory(owner=other_user, members=[user])

    resp = client_for(user).post(URL, payload(project=shared.pk))

    assert resp.status_code == 403
    assert not SlackIntegration.objects.exists()


def test_api_someone_elses_integration_is_404_everywhere(user, other_user, client_for):
    theirs = SlackIntegrationFactory(owner=other_user)
    client = client_for(user)

    assert client.get(URL).json()["count"] == 0
    for method, suffix in [
        ("get", ""),
        ("put", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "verify/"),
        ("post", "test-message/"),
        ("get", "deliveries/"),
    ]:
        resp = getattr(client, method)(f"{URL}{theirs.pk}/{suffix}", {})
        assert resp.status_code == 404, (method, suffix, resp.status_code)
    assert SlackIntegration.objects.filter(pk=theirs.pk).exists()


def test_api_anonymous_list_is_401(api_client):
    assert api_client.get(URL).status_code in (401, 403)


def test_api_patch_without_token_keeps_it(user, client_for):
    integration = SlackIntegrationFactory(owner=user)

    resp = client_for(user).patch(f"{URL}{integration.pk}/", {"notify_system_alerts": True})

    assert resp.status_code == 200
    integration.refresh_from_db()
    assert integration.bot_token == BOT_TOKEN
    assert integration.notify_system_alerts


def test_api_new_token_resets_health_and_verification(user, client_for):
    # given: an unhealthy integration
    integration = SlackIntegrationFactory(
        owner=user, is_healthy=False, health_reason="Invalid token", last_verification_ok=False
    )

    resp = client_for(user).put(f"{URL}{integration.pk}/", payload(bot_token=NEW_TOKEN))

    assert resp.status_code == 200
    assert resp.json()["is_healthy"] is True
    assert resp.json()["last_verification_ok"] is None
    integration.refresh_from_db()
    assert integration.bot_token == NEW_TOKEN
    assert integration.health_reason == ""


def test_api_read_only_fields_ignored_on_write(user, client_for):
    integration = SlackIntegrationFactory(owner=user, is_healthy=False, health_reason="x")

    client_for(user).patch(f"{URL}{integration.pk}/", {"is_healthy": True, "team_id": "T666"})

    integration.refresh_from_db()
    assert integration.is_healthy is False
    assert integration.team_id == ""


def test_api_delete_removes_the_integration(user, client_for):
    integration = SlackIntegrationFactory(owner=user)

    assert client_for(user).delete(f"{URL}{integration.pk}/").status_code == 204
    assert not SlackIntegration.objects.filter(pk=integration.pk).exists()


def test_api_token_encrypted_in_the_database(user, client_for):
    resp = client_for(user).post(URL, payload())

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT bot_token FROM {SlackIntegration._meta.db_table} WHERE id = %s",
            [resp.json()["id"]],
        )
        [stored] = cursor.fetchone()
    assert BOT_TOKEN not in stored
    assert "xoxb" not in stored
    assert stored.startswith("fernet:")


def test_api_full_flow_never_shows_token_in_answers_or_logs(
    user, project, client_for, run_on_commit, slack, caplog, settings
):
    settings.SLACK_MIN_SEND_INTERVAL_SECONDS = 0
    caplog.set_level(logging.DEBUG)  # slack_sdk and urllib log requests at DEBUG
    client = client_for(user)
    bodies = []

    with run_on_commit():
        created = client.post(URL, payload(project=project.pk))
    bodies.append(created.content)
    pk = created.json()["id"]
    for method, suffix in [("get", ""), ("get", ""), ("patch", ""), ("post", "verify/")]:
        bodies.append(getattr(client, method)(f"{URL}{pk}/{suffix}", {}).content)
    with run_on_commit():
        bodies.append(client.post(f"{URL}{pk}/test-message/").content)
    slack.tokens.clear()  # now every call fails with invalid_auth: error paths log too
    bodies.append(client.post(f"{URL}{pk}/verify/").content)
    with run_on_commit():
        bodies.append(client.post(f"{URL}{pk}/test-message/").content)
    bodies.append(client.get(f"{URL}{pk}/deliveries/").content)
    bodies.append(client.get(URL).content)

    assert [c.method for c in slack.calls] == [
        *["auth.test", "conversations.info", "chat.postMessage"],
        *["auth.test", "chat.postMessage"],
    ]
    assert {c.token for c in slack.calls} == {BOT_TOKEN}  # it was used…
    for body in bodies:
        assert BOT_TOKEN.encode() not in body  # …but never shown
    assert "invalid_auth" in caplog.text  # the failures were logged…
    assert BOT_TOKEN not in caplog.text
    assert "secretTOKEN" not in caplog.text


def test_api_deliveries_list_attempts_and_slack_answer(
    user, client_for, run_on_commit, slack, integration
):
    with run_on_commit():
        client_for(user).post(f"{URL}{integration.pk}/test-message/")

    resp = client_for(user).get(f"{URL}{integration.pk}/deliveries/")

    assert resp.status_code == 200
    [delivery] = resp.json()["results"]
    assert delivery["status"] == "success"
    assert delivery["message_ts"]
    assert delivery["attempts"][0]["outcome"] == "success"
